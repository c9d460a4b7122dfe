// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: what the run found, and how it is shown.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_REPORT_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_REPORT_HH

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace cfs_fuzz
{

using Clock = std::chrono::steady_clock;

class Report
{
public:
	void fail(const std::string &what)
	{
		const std::scoped_lock lock(mutex_);
		failures_++;
		if (failures_ <= 50) {
			std::cout << "FAIL: " << what << '\n' << std::flush;
		}
	}
	void count(const std::string &op, int err)
	{
		const std::scoped_lock lock(mutex_);
		auto &c = ops_[op];
		c.n++;
		if (err == 0) {
			c.ok++;
		} else {
			c.errors[err]++;
		}
	}
	[[nodiscard]] unsigned failures() const
	{
		const std::scoped_lock lock(mutex_);
		return failures_;
	}
	[[nodiscard]] unsigned long total() const
	{
		const std::scoped_lock lock(mutex_);
		unsigned long n = 0;
		for (const auto &[op, c] : ops_) {
			n += c.n;
		}
		return n;
	}
	void print() const
	{
		const std::scoped_lock lock(mutex_);
		for (const auto &[op, c] : ops_) {
			std::cout << "op " << op << " n=" << c.n << " ok=" << c.ok;
			for (const auto &[err, n] : c.errors) {
				std::cout << ' ' << errno_name(err) << '=' << n;
			}
			std::cout << '\n';
		}
	}

	static std::string errno_name(int err)
	{
		switch (err) {
		case EINVAL:
			return "EINVAL";
		case EBUSY:
			return "EBUSY";
		case EEXIST:
			return "EEXIST";
		case ENOENT:
			return "ENOENT";
		case EPERM:
			return "EPERM";
		case EACCES:
			return "EACCES";
		case ENOTEMPTY:
			return "ENOTEMPTY";
		case EFAULT:
			return "EFAULT";
		case ENAMETOOLONG:
			return "ENAMETOOLONG";
		case ENOSPC:
			return "ENOSPC";
		case ENFILE:
			return "ENFILE";
		case ENOMEM:
			return "ENOMEM";
		case EXDEV:
			return "EXDEV";
		case ENOTDIR:
			return "ENOTDIR";
		case EISDIR:
			return "EISDIR";
		case EIO:
			return "EIO";
		default:
			return "errno" + std::to_string(err);
		}
	}

private:
	struct Counts {
		unsigned long n = 0;
		unsigned long ok = 0;
		std::map<int, unsigned long> errors;
	};
	mutable std::mutex mutex_;
	std::map<std::string, Counts> ops_;
	unsigned failures_ = 0;
};

inline Report report;

// Printable form of a value that may hold any byte.
inline std::string show(const std::string &s)
{
	std::string out = "'";
	for (const char ch : s.substr(0, 80)) {
		const auto c = static_cast<unsigned char>(ch);
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
			out += ch;
		} else {
			std::array<char, 8> buf{};
			(void)std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
			out += buf.data();
		}
	}
	if (s.size() > 80) {
		out += "...(" + std::to_string(s.size()) + " bytes)";
	}
	return out + "'";
}

// The parts, concatenated.
inline std::string cat(std::initializer_list<std::string_view> parts)
{
	std::string s;
	for (const auto part : parts) {
		s.append(part);
	}
	return s;
}

} // namespace cfs_fuzz

#endif
