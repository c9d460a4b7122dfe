// SPDX-License-Identifier: GPL-2.0
// vbusctl: atomic replacement of the save file.

#include <gtest/gtest.h>

#include "fake_kernel.hh"

#include <atomic_file.hh>
#include <error.hh>

#include <sys/stat.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace vbusctl
{
namespace
{

std::size_t entries(const fs::path &dir)
{
	return static_cast<std::size_t>(
	    std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, ReplacesTheFileWithMode0600AndLeavesNoTemporary)
{
	const test::TempDir dir;
	const fs::path file = dir.path() / "config.json";
	test::write_file(file, "old", true);
	write_file_atomically(file, "new content\n");
	EXPECT_EQ(test::read_raw(file), "new content\n");
	EXPECT_EQ(read_file(file), "new content\n");
	struct stat st {
	};
	ASSERT_EQ(::stat(file.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600U);
	EXPECT_EQ(entries(dir.path()), 1U);
}

TEST(AtomicFile, FailureLeavesTheOldFileAndNoTemporary)
{
	const test::TempDir dir;
	// The target is a non-empty directory: the rename must fail.
	const fs::path target = dir.path() / "busy";
	fs::create_directories(target / "inside");
	try {
		write_file_atomically(target, "x");
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.object(), target.string());
		EXPECT_EQ(e.operation(), "rename the temporary file");
	}
	EXPECT_TRUE(fs::is_directory(target / "inside"));
	EXPECT_EQ(entries(dir.path()), 1U);
}

TEST(AtomicFile, MissingDirectoryIsAnError)
{
	const test::TempDir dir;
	EXPECT_THROW(write_file_atomically(dir.path() / "no/such/dir/f", "x"), Error);
	EXPECT_THROW(read_file(dir.path() / "nothing"), Error);
}

} // namespace
} // namespace vbusctl
