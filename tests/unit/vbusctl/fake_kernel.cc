// SPDX-License-Identifier: GPL-2.0
//
// The fake kernel side of the vbus tree.

#include "fake_kernel.hh"

#include <error.hh>

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace vbusctl::test
{

namespace
{

[[noreturn]] void refuse_with(const std::string &object, Op op, const std::string &operation,
                              int err)
{
	throw Error::from_errno(object, op, operation, err);
}

bool in_range(const std::string &value, long lo, long hi)
{
	try {
		std::size_t end = 0;
		const long v = std::stol(value, &end);
		return end == value.size() && v >= lo && v <= hi;
	} catch (const std::exception &) {
		return false;
	}
}

} // namespace

TempDir::TempDir()
{
	std::string pattern = (fs::temp_directory_path() / "vbusctl-test.XXXXXX").string();
	std::vector<char> buf(pattern.begin(), pattern.end());
	buf.push_back('\0');
	if (::mkdtemp(buf.data()) == nullptr) {
		throw std::runtime_error("mkdtemp failed");
	}
	path_ = buf.data();
}

TempDir::~TempDir()
{
	std::error_code ec;
	fs::remove_all(path_, ec);
}

void write_file(const fs::path &file, const std::string &value, bool writable)
{
	std::ofstream(file) << value << '\n';
	fs::permissions(file, writable ? fs::perms::owner_read | fs::perms::owner_write |
	                                     fs::perms::group_read | fs::perms::others_read
	                               : fs::perms::owner_read | fs::perms::group_read |
	                                     fs::perms::others_read);
}

std::string read_raw(const fs::path &file)
{
	std::ifstream in(file);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

FakeKernel::FakeKernel(const fs::path &root, unsigned *changes)
    : Tree(root), changes_(changes != nullptr ? changes : &own_changes_)
{
	fs::create_directories(root / "containers");
	fs::create_directories(root / "devices" / "echo");
	fs::create_directories(root / "devices" / "venet");
}

void FakeKernel::make_container(const std::string &name)
{
	Tree::make_container(name);
	const fs::path dir = container_dir(name);
	write_file(dir / "owner_uid", "", true);
	write_file(dir / "owner_gid", "", true);
	write_file(dir / "clients", "0", false);
	fs::create_directory(dir / "devices");
	++*changes_;
}

void FakeKernel::remove_container(const std::string &name)
{
	const fs::path dir = container_dir(name);
	if (fs::exists(dir / "devices") && !fs::is_empty(dir / "devices")) {
		refuse_with("container '" + name + "'", Op::remove_container, "remove", ENOTEMPTY);
	}
	if (fs::is_directory(dir)) {
		for (const char *file : {"owner_uid", "owner_gid", "clients"}) {
			fs::remove(dir / file);
		}
		fs::remove(dir / "devices");
	}
	Tree::remove_container(name);
	++*changes_;
}

void FakeKernel::set_container_attribute(const std::string &name, const std::string &attr,
                                         const std::string &value)
{
	if (const auto it = refused_.find(attr); it != refused_.end()) {
		refuse_with("container '" + name + "'", Op::set_attribute,
		            "set " + attr + "=" + value, it->second);
	}
	Tree::set_container_attribute(name, attr, value);
	++*changes_;
}

void FakeKernel::make_device(const std::string &cls, const std::string &name)
{
	if (device_class(name)) {
		refuse_with("device '" + name + "'", Op::make_device,
		            "create in class '" + cls + "'", EEXIST);
	}
	Tree::make_device(cls, name);
	const fs::path dir = class_dir(cls) / name;
	write_file(dir / "enabled", "0", true);
	write_file(dir / "id", "", false);
	write_file(dir / "container", "", false);
	write_file(dir / "connections", "0", false);
	if (cls == "echo") {
		write_file(dir / "type", "echo", false);
		write_file(dir / "max_len", "4096", true);
	} else {
		write_file(dir / "type", "virtual-ethernet", false);
		write_file(dir / "mtu", "1500", true);
		write_file(dir / "ifname", "vbus-vn%d", true);
	}
	++*changes_;
}

void FakeKernel::remove_device(const std::string &name)
{
	const DeviceState d = device(name);
	if (!d.container.empty()) {
		refuse_with("device '" + name + "'", Op::remove_device, "remove", EBUSY);
	}
	for (const Attribute &a : d.attributes) {
		fs::remove(device_dir(name) / a.name);
	}
	Tree::remove_device(name);
	++*changes_;
}

void FakeKernel::set_device_attribute(const std::string &name, const std::string &attr,
                                      const std::string &value)
{
	const std::string object = "device '" + name + "'";
	const DeviceState d = device(name);
	const bool enabled_attr = attr == "enabled";
	const Op op = enabled_attr ? (value == "0" ? Op::disable : Op::enable) : Op::set_attribute;
	const std::string operation = op == Op::set_attribute
	                                  ? "set " + attr + "=" + value
	                                  : (op == Op::enable ? "enable" : "disable");
	if (const auto it = refused_.find(attr); it != refused_.end()) {
		refuse_with(object, op, operation, it->second);
	}
	if (d.find(attr) == nullptr) {
		refuse_with(object, op, operation, ENOENT);
	}
	if (enabled_attr && value != "0" && value != "1") {
		refuse_with(object, op, operation, EINVAL);
	}
	if (!enabled_attr && d.enabled()) {
		refuse_with(object, op, operation, EBUSY);
	}
	if ((attr == "max_len" && !in_range(value, 1, 65536)) ||
	    (attr == "mtu" && !in_range(value, 68, 9000))) {
		refuse_with(object, op, operation, EINVAL);
	}
	Tree::set_device_attribute(name, attr, value);
	++*changes_;
}

void FakeKernel::attach(const std::string &device, const std::string &container)
{
	if (!Tree::device(device).container.empty()) {
		refuse_with("device '" + device + "'", Op::attach,
		            "attach to container '" + container + "'", EBUSY);
	}
	Tree::attach(device, container);
	++*changes_;
}

void FakeKernel::detach(const std::string &device)
{
	Tree::detach(device);
	++*changes_;
}

} // namespace vbusctl::test
