// SPDX-License-Identifier: GPL-2.0
//
// vbus-vm's file descriptors and mappings: the project's shared ones.

#pragma once

#include "vbus_fd.hh"

namespace vbusvm
{
using vbus_tools::Fd;
using vbus_tools::Mapping;
} // namespace vbusvm
