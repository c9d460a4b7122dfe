// SPDX-License-Identifier: GPL-2.0
//
// vbusctl errors: every failure names the object, the operation and the
// reason (the kernel's errno text, with what it means for that operation
// in the vbus administration tree).

#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vbusctl
{

// Exit statuses of vbusctl (documented in vbusctl(8)).
enum ExitCode : int {
	kExitOk = 0,
	kExitFailed = 1,  // the kernel refused, or an I/O error
	kExitUsage = 2,   // bad command line, name or configuration file
	kExitPartial = 3, // restore: some objects could not be restored
};

// What was being done, to explain an errno the way the admin guide does.
enum class Op {
	read,
	make_container,
	remove_container,
	make_device,
	remove_device,
	set_attribute,
	enable,
	disable,
	attach,
	detach,
	file,
	netlink,
};

// The meaning of errno @err for @op in the vbus tree, or "" when there is
// nothing to add to strerror().
std::string explain(Op op, int err);

// strerror(err) followed by explain(), e.g.
// "Device or resource busy (class attributes change only while the device is disabled)".
std::string errno_reason(Op op, int err);

class Error : public std::runtime_error
{
public:
	enum class Kind { usage, failed };

	Error(std::string object, std::string operation, std::string reason,
	      Kind kind = Kind::failed, int err = 0);

	// An errno from the kernel or the file system.
	static Error from_errno(std::string object, Op op, std::string operation, int err);
	static Error usage(std::string object, std::string operation, std::string reason);

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

} // namespace vbusctl
