// SPDX-License-Identifier: GPL-2.0
//
// Parsing of names, assignments and ids given by the administrator.

#include "names.hh"

#include "error.hh"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <limits>
#include <string>

namespace vbusctl
{

namespace
{

constexpr std::size_t kNameMax = 64;

bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

} // namespace

bool valid_name(std::string_view name)
{
	if (name.empty() || name.size() > kNameMax || name == "." || name == "..") {
		return false;
	}
	return std::all_of(name.begin(), name.end(),
	                   [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

void check_name(std::string_view what, std::string_view name)
{
	if (!valid_name(name)) {
		throw Error::usage(std::string(what) + " '" + std::string(name) + "'", "check name",
		                   "names are 1 to 64 characters from A-Z a-z 0-9 _ . -");
	}
}

bool valid_attribute(std::string_view name)
{
	return !name.empty() && name.size() <= kNameMax &&
	       std::all_of(name.begin(), name.end(),
	                   [](char c) { return is_alnum(c) || c == '_'; });
}

Assignment parse_assignment(std::string_view arg)
{
	const auto eq = arg.find('=');
	if (eq == std::string_view::npos) {
		throw Error::usage("'" + std::string(arg) + "'", "parse assignment",
		                   "expected attribute=value");
	}
	Assignment a{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
	if (!valid_attribute(a.attribute)) {
		throw Error::usage("attribute '" + a.attribute + "'", "parse assignment",
		                   "attribute names are letters, digits and _");
	}
	if (a.value.find('\n') != std::string::npos) {
		throw Error::usage("attribute '" + a.attribute + "'", "parse assignment",
		                   "a value is one line");
	}
	return a;
}

std::optional<std::uint32_t> parse_owner(std::string_view what, std::string_view text)
{
	if (text.empty()) {
		return std::nullopt;
	}
	std::uint32_t id = 0;
	const auto *end = std::next(text.data(), static_cast<std::ptrdiff_t>(text.size()));
	const auto [ptr, ec] = std::from_chars(text.data(), end, id);
	if (ec != std::errc() || ptr != end || id == std::numeric_limits<std::uint32_t>::max()) {
		throw Error::usage(std::string(what) + " '" + std::string(text) + "'", "parse id",
		                   "expected a decimal id below 4294967295, or nothing");
	}
	return id;
}

std::string format_owner(const std::optional<std::uint32_t> &owner)
{
	return owner ? std::to_string(*owner) : std::string();
}

bool parse_enabled(std::string_view text)
{
	if (text == "0") {
		return false;
	}
	if (text == "1") {
		return true;
	}
	throw Error::usage("enabled '" + std::string(text) + "'", "parse", "expected 0 or 1");
}

} // namespace vbusctl
