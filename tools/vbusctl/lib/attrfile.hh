// SPDX-License-Identifier: GPL-2.0
//
// Reading and writing one configfs attribute file the way configfs
// wants it: the whole value in one write(2), errors from write and close.

#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vbusctl
{

// Reads @file into @value without its trailing newline.  Returns 0 or
// an errno.
int read_attribute(const std::filesystem::path &file, std::string &value);

// Writes @value and a newline in one write(2).  Returns 0 or an errno.
int write_attribute(const std::filesystem::path &file, std::string_view value);

} // namespace vbusctl
