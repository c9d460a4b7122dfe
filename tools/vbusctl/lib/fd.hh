// SPDX-License-Identifier: GPL-2.0
//
// vbusctl's file descriptors: the project's shared ones.

#pragma once

#include "vbus_fd.hh"

namespace vbusctl
{
using vbus_tools::Fd;
} // namespace vbusctl
