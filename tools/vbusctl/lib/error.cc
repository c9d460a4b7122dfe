// SPDX-License-Identifier: GPL-2.0
//
// Error messages, and what each errno means for each operation
// (Documentation/vbus/admin.rst, section Errors).

#include "error.hh"

#include <cerrno>
#include <cstring>
#include <utility>

namespace vbusctl
{

namespace
{

std::string explain_busy(Op op)
{
	switch (op) {
	case Op::set_attribute:
		return "class attributes change only while the device is disabled";
	case Op::disable:
		return "a client has the device open";
	case Op::attach:
		return "the device is already placed in a container";
	case Op::remove_device:
		return "the device is placed in a container; detach it first";
	case Op::remove_container:
		return "clients are attached to the container";
	default:
		return "";
	}
}

std::string explain_invalid(Op op)
{
	switch (op) {
	case Op::make_container:
	case Op::make_device:
		return "names are 1 to 64 characters from A-Z a-z 0-9 _ . -";
	case Op::set_attribute:
		return "the value is malformed or out of range";
	case Op::enable:
	case Op::disable:
		return "enabled takes 0 or 1";
	case Op::attach:
		return "only devices can be placed in a container";
	default:
		return "";
	}
}

std::string explain_missing(Op op)
{
	switch (op) {
	case Op::make_device:
		return "no such device class; is its module loaded?";
	case Op::set_attribute:
	case Op::enable:
	case Op::disable:
		return "no such attribute";
	case Op::attach:
		return "no such container";
	case Op::make_container:
	case Op::read:
		return "no such object; is vbus loaded and configfs mounted?";
	default:
		return "no such object";
	}
}

} // namespace

std::string explain(Op op, int err)
{
	switch (err) {
	case EBUSY:
		return explain_busy(op);
	case EINVAL:
		return explain_invalid(op);
	case ENOENT:
		return explain_missing(op);
	case EEXIST:
		return op == Op::make_device ? "device names are unique across all classes"
		                             : "the name is taken";
	case ENOTEMPTY:
		return op == Op::remove_container ? "devices are placed in it; detach them first"
		                                  : "";
	case EPERM:
	case EACCES:
		return op == Op::netlink || op == Op::file ? "" : "administration needs root";
	default:
		return "";
	}
}

std::string errno_reason(Op op, int err)
{
	std::string reason = std::strerror(err);
	if (std::string more = explain(op, err); !more.empty()) {
		reason += " (" + more + ")";
	}
	return reason;
}

Error::Error(std::string object, std::string operation, std::string reason, Kind kind, int err)
    : std::runtime_error(object + ": " + operation + ": " + reason), object_(std::move(object)),
      operation_(std::move(operation)), reason_(std::move(reason)), kind_(kind), err_(err)
{
}

Error Error::from_errno(std::string object, Op op, std::string operation, int err)
{
	return {std::move(object), std::move(operation), errno_reason(op, err), Kind::failed, err};
}

Error Error::usage(std::string object, std::string operation, std::string reason)
{
	return {std::move(object), std::move(operation), std::move(reason), Kind::usage};
}

} // namespace vbusctl
