// SPDX-License-Identifier: GPL-2.0
//
// Temporary file, fsync, rename, fsync of the directory.

#include "atomic_file.hh"

#include "error.hh"
#include "fd.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

namespace fs = std::filesystem;

namespace vbusctl
{

namespace
{

// Removes the temporary file unless the rename happened.
class TempFile
{
public:
	explicit TempFile(const fs::path &target)
	{
		std::string pattern = target.string() + ".tmp.XXXXXX";
		name_.assign(pattern.begin(), pattern.end());
		name_.push_back('\0');
		fd_ = Fd(::mkstemp(name_.data()));
		if (!fd_) {
			const int err = errno;
			name_.clear();
			throw Error::from_errno(target.string(), Op::file,
			                        "create a temporary file", err);
		}
	}
	TempFile(const TempFile &) = delete;
	TempFile &operator=(const TempFile &) = delete;
	TempFile(TempFile &&) = delete;
	TempFile &operator=(TempFile &&) = delete;
	~TempFile()
	{
		if (!name_.empty()) {
			::unlink(name_.data());
		}
	}

	[[nodiscard]] int fd() const { return fd_.get(); }
	[[nodiscard]] const char *name() const { return name_.data(); }
	int close() { return fd_.close(); }
	void keep() { name_.clear(); }

private:
	std::vector<char> name_;
	Fd fd_;
};

void check(int ret, const fs::path &path, const std::string &operation)
{
	if (ret < 0) {
		throw Error::from_errno(path.string(), Op::file, operation, errno);
	}
}

} // namespace

void write_file_atomically(const fs::path &path, std::string_view data, mode_t mode)
{
	TempFile tmp(path);
	check(::fchmod(tmp.fd(), mode), path, "set the mode of the temporary file");
	std::string_view rest = data;
	while (!rest.empty()) {
		const ssize_t n = ::write(tmp.fd(), rest.data(), rest.size());
		if (n < 0 && errno == EINTR) {
			continue;
		}
		check(static_cast<int>(n), path, "write");
		rest.remove_prefix(static_cast<std::size_t>(n));
	}
	check(::fsync(tmp.fd()), path, "fsync");
	if (const int err = tmp.close(); err != 0) {
		throw Error::from_errno(path.string(), Op::file, "close", err);
	}
	check(::rename(tmp.name(), path.c_str()), path, "rename the temporary file");
	tmp.keep();
	fs::path dir = path.parent_path();
	if (dir.empty()) {
		dir = ".";
	}
	const Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	check(dirfd ? 0 : -1, dir, "open the directory");
	check(::fsync(dirfd.get()), dir, "fsync the directory");
}

std::string read_file(const fs::path &path)
{
	const bool stdin_ = path == "-";
	Fd owned;
	int fd = STDIN_FILENO;
	if (!stdin_) {
		owned = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		check(owned ? 0 : -1, path, "open");
		fd = owned.get();
	}
	std::string text;
	std::array<char, 65536> buf{};
	for (;;) {
		const ssize_t n = ::read(fd, buf.data(), buf.size());
		if (n < 0 && errno == EINTR) {
			continue;
		}
		check(static_cast<int>(n), stdin_ ? fs::path("standard input") : path, "read");
		if (n == 0) {
			break;
		}
		text.append(buf.data(), static_cast<std::size_t>(n));
	}
	return text;
}

} // namespace vbusctl
