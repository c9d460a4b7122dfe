// SPDX-License-Identifier: GPL-2.0
//
// What the command line and configuration files may name: objects,
// attributes, "attribute=value" assignments and owner ids.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vbusctl
{

// Container, device and class names: 1 to 64 characters from
// A-Z a-z 0-9 _ . - (the kernel's rule; "." and ".." are not names).
bool valid_name(std::string_view name);

// Throws a usage Error naming @what ("container", "device", "class")
// unless valid_name(@name).
void check_name(std::string_view what, std::string_view name);

// Attribute names: 1 to 64 characters from A-Z a-z 0-9 _ (never a path).
bool valid_attribute(std::string_view name);

struct Assignment {
	std::string attribute;
	std::string value;
};

// "attribute=value"; the value may be empty and may contain '='.
// Throws a usage Error otherwise.
Assignment parse_assignment(std::string_view arg);

// An owner_uid/owner_gid value: a decimal id below 4294967295, or ""
// (no owner).  Returns std::nullopt for "", throws a usage Error when
// malformed.
std::optional<std::uint32_t> parse_owner(std::string_view what, std::string_view text);

// The configfs text of an owner: the decimal id, or "".
std::string format_owner(const std::optional<std::uint32_t> &owner);

// "0" or "1" for enabled; throws a usage Error for anything else.
bool parse_enabled(std::string_view text);

} // namespace vbusctl
