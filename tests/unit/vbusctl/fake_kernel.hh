// SPDX-License-Identifier: GPL-2.0
//
// A fake vbus configfs tree in a temporary directory, for the vbusctl
// unit tests.  The real Tree code does the file work; this subclass
// plays the kernel's part: it fills in the attribute files of new
// objects, refuses what the kernel refuses (admin.rst, section Errors)
// and can be told to refuse one attribute.

#pragma once

#include <tree.hh>

#include <filesystem>
#include <map>
#include <string>

namespace vbusctl::test
{

// A temporary directory, removed with everything in it.
class TempDir
{
public:
	TempDir();
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	TempDir(TempDir &&) = delete;
	TempDir &operator=(TempDir &&) = delete;
	~TempDir();

	[[nodiscard]] const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
};

class FakeKernel : public Tree
{
public:
	// Creates containers/ and devices/{echo,venet}/ under @root.
	// Counts its changes in @changes when given (so that trees made for
	// several commands can share one count).
	explicit FakeKernel(const std::filesystem::path &root, unsigned *changes = nullptr);

	// Writes of @attr fail with @err from now on.
	void refuse(const std::string &attr, int err) { refused_[attr] = err; }
	// Configfs operations that changed something.
	[[nodiscard]] unsigned changes() const { return *changes_; }

	void make_container(const std::string &name) override;
	void remove_container(const std::string &name) override;
	void set_container_attribute(const std::string &name, const std::string &attr,
	                             const std::string &value) override;
	void make_device(const std::string &cls, const std::string &name) override;
	void remove_device(const std::string &name) override;
	void set_device_attribute(const std::string &name, const std::string &attr,
	                          const std::string &value) override;
	void attach(const std::string &device, const std::string &container) override;
	void detach(const std::string &device) override;

private:
	std::map<std::string, int> refused_;
	unsigned own_changes_ = 0;
	unsigned *changes_;
};

// Creates a file with @value and a newline, writable or read-only.
void write_file(const std::filesystem::path &file, const std::string &value, bool writable);
// The raw content of a file.
std::string read_raw(const std::filesystem::path &file);

} // namespace vbusctl::test
