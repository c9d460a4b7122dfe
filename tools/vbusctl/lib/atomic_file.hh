// SPDX-License-Identifier: GPL-2.0
//
// Whole-file reads and atomic replacement of a file.

#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace vbusctl
{

// Replaces @path with @data so that a reader sees either the old file or
// the whole new one, also after a crash: a temporary file in the same
// directory, written, fsync'ed, renamed over @path, then the directory
// fsync'ed.  On failure @path is untouched and no temporary file is left.
void write_file_atomically(const std::filesystem::path &path, std::string_view data,
                           mode_t mode = 0600);

// The whole content of @path ("-" reads standard input).
std::string read_file(const std::filesystem::path &path);

} // namespace vbusctl
