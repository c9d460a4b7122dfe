// SPDX-License-Identifier: GPL-2.0
//
// Error messages: "object: operation: reason (hint)".

#include "error.hh"

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace vbusvm
{

namespace
{

std::string message(const std::string &object, const std::string &operation,
                    const std::string &reason)
{
	std::string msg = object;
	if (!operation.empty()) {
		msg += ": " + operation;
	}
	return msg + ": " + reason;
}

} // namespace

Error::Error(std::string object, std::string operation, std::string reason, Kind kind, int err)
    : std::runtime_error(message(object, operation, reason)), object_(std::move(object)),
      operation_(std::move(operation)), reason_(std::move(reason)), kind_(kind), err_(err)
{
}

Error Error::from_errno(std::string object, std::string operation, int err, const std::string &hint)
{
	std::string reason = std::strerror(err);
	if (!hint.empty()) {
		reason += " (" + hint + ")";
	}
	return {std::move(object), std::move(operation), std::move(reason), Kind::failed, err};
}

Error Error::usage(std::string object, std::string reason)
{
	return {std::move(object), "", std::move(reason), Kind::usage};
}

std::string hex(std::uint64_t value)
{
	static constexpr std::string_view kDigits = "0123456789abcdef";
	std::string out;
	do {
		out.insert(out.begin(), kDigits[value & 0xfU]);
		value >>= 4U;
	} while (value != 0);
	return "0x" + out;
}

void throw_errno(std::string object, std::string operation, const std::string &hint)
{
	throw Error::from_errno(std::move(object), std::move(operation), errno, hint);
}

} // namespace vbusvm
