// SPDX-License-Identifier: GPL-2.0
//
// vbus-vm errors: every failure names the object (a file, a device, an
// ioctl's target), the operation and the reason (errno text), and where
// it helps, what to do about it.

#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vbusvm
{

// Exit statuses of vbus-vm (documented in vbus-vm(8)).
enum ExitCode : int {
	kExitOk = 0,     // the guest rebooted or powered off
	kExitFailed = 1, // an error in the VMM or the host
	kExitUsage = 2,  // bad command line
};

class Error : public std::runtime_error
{
public:
	enum class Kind { usage, failed };

	Error(std::string object, std::string operation, std::string reason,
	      Kind kind = Kind::failed, int err = 0);

	// A failed system call: the reason is strerror(err), then (hint).
	static Error from_errno(std::string object, std::string operation, int err,
	                        const std::string &hint = {});
	// A bad command line: exit status 2.
	static Error usage(std::string object, std::string reason);

	[[nodiscard]] const std::string &object() const { return object_; }
	[[nodiscard]] const std::string &operation() const { return operation_; }
	[[nodiscard]] const std::string &reason() const { return reason_; }
	[[nodiscard]] Kind kind() const { return kind_; }
	// The errno, or 0 when the error did not come from a system call.
	[[nodiscard]] int err() const { return err_; }
	[[nodiscard]] int exit_code() const
	{
		return kind_ == Kind::usage ? kExitUsage : kExitFailed;
	}

private:
	std::string object_;
	std::string operation_;
	std::string reason_;
	Kind kind_;
	int err_;
};

// "0x1f" for 31.
std::string hex(std::uint64_t value);

// Throws Error::from_errno with the current errno.
[[noreturn]] void throw_errno(std::string object, std::string operation,
                              const std::string &hint = {});

} // namespace vbusvm
