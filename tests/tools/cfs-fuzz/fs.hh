// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: file system access; each returns 0 or an errno.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_FS_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_FS_HH

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../posix.hh"

namespace cfs_fuzz
{

using testtools::Fd;

inline int read_file(const std::string &path, std::string &out)
{
	const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	std::array<char, 8192> buf{};
	out.clear();
	for (;;) {
		const ssize_t n = read(fd.get(), buf.data(), buf.size());
		if (n < 0) {
			return errno;
		}
		if (n == 0) {
			return 0;
		}
		out.append(buf.data(), static_cast<size_t>(n));
	}
}

// One write(2) of the whole value, as configfs wants; a short write is
// an error (EIO) since configfs took a truncated value.
inline int write_file(const std::string &path, const std::string &value)
{
	const Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	const ssize_t n = write(fd.get(), value.data(), value.size());
	if (n < 0) {
		return errno;
	}
	return static_cast<size_t>(n) == value.size() ? 0 : EIO;
}

inline int sys_mkdir(const std::string &path)
{
	return mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

inline int sys_rmdir(const std::string &path)
{
	return rmdir(path.c_str()) == 0 ? 0 : errno;
}

// Names in a directory (no "." or ".."); empty if it cannot be read.
inline std::vector<std::string> list_dir(const std::string &path)
{
	std::vector<std::string> names;
	const std::unique_ptr<DIR, int (*)(DIR *)> dir(opendir(path.c_str()), closedir);
	if (!dir) {
		return names;
	}
	while (const dirent *e = readdir(dir.get())) {
		const std::string name(static_cast<const char *>(e->d_name));
		if (name != "." && name != "..") {
			names.push_back(name);
		}
	}
	return names;
}

inline bool exists(const std::string &path)
{
	struct stat st {
	};
	return lstat(path.c_str(), &st) == 0;
}

} // namespace cfs_fuzz

#endif
