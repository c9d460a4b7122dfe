// SPDX-License-Identifier: GPL-2.0
// Documentation/vbus/abi.rst against the headers: every layout table's
// offsets, sizes and field names, and the ioctl argument sizes, must be
// what offsetof() and sizeof() say.

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <vbus/ioq.h>
#include <vbus/kvm.h>
#include <vbus/shm_signal.h>
#include <vbus/venet.h>

namespace
{

struct Field {
	std::size_t offset;
	std::optional<std::size_t> size; // none: runs to the end
};

// A documented layout: the text just before its table, the size that
// text gives (if it gives one), and its named fields ("" names a row
// without a field name).
struct Layout {
	std::string anchor;
	std::optional<std::size_t> size;
	std::map<std::string, Field> fields;
};

// offsetof() needs the member's name: a macro.
// NOLINTNEXTLINE(cppcoreguidelines-macro-usage)
#define FIELD(type, member)                                                                        \
	{                                                                                          \
#member,                                                                           \
		{                                                                                  \
			offsetof(type, member), sizeof(((type *)nullptr)->member)                  \
		}                                                                                  \
	}

std::vector<Layout> layouts()
{
	return {
	    {"notifies a *receiver*.  16 bytes:",
	     sizeof(vbus_shm_signal),
	     {FIELD(vbus_shm_signal, magic), FIELD(vbus_shm_signal, version),
	      FIELD(vbus_shm_signal, enabled), FIELD(vbus_shm_signal, pending)}},
	    {"Header, 256 bytes",
	     sizeof(vbus_ioq_head),
	     {FIELD(vbus_ioq_head, magic),
	      FIELD(vbus_ioq_head, version),
	      FIELD(vbus_ioq_head, count),
	      FIELD(vbus_ioq_head, flags),
	      FIELD(vbus_ioq_head, avail_idx),
	      FIELD(vbus_ioq_head, used_idx),
	      FIELD(vbus_ioq_head, dev_signal),
	      FIELD(vbus_ioq_head, drv_signal),
	      {"ring[count]", {offsetof(vbus_ioq_head, ring), std::nullopt}}}},
	    {"Descriptor, 32 bytes:",
	     sizeof(vbus_ioq_desc),
	     {FIELD(vbus_ioq_desc, cookie), FIELD(vbus_ioq_desc, addr), FIELD(vbus_ioq_desc, len),
	      FIELD(vbus_ioq_desc, flags), FIELD(vbus_ioq_desc, reserved)}},
	    {"``struct vbus_venet_config``, 24 bytes:",
	     sizeof(vbus_venet_config),
	     {FIELD(vbus_venet_config, mac), FIELD(vbus_venet_config, mtu),
	      FIELD(vbus_venet_config, max_queue_pairs), FIELD(vbus_venet_config, reserved),
	      FIELD(vbus_venet_config, features)}},
	    {"``struct vbus_venet_negotiate``, 16 bytes:",
	     sizeof(vbus_venet_negotiate),
	     {FIELD(vbus_venet_negotiate, features), FIELD(vbus_venet_negotiate, queue_pairs),
	      FIELD(vbus_venet_negotiate, reserved)}},
	    {"``struct vbus_venet_hdr``, 16 bytes:",
	     sizeof(vbus_venet_hdr),
	     {FIELD(vbus_venet_hdr, flags), FIELD(vbus_venet_hdr, gso_type),
	      FIELD(vbus_venet_hdr, hdr_len), FIELD(vbus_venet_hdr, gso_size),
	      FIELD(vbus_venet_hdr, csum_start), FIELD(vbus_venet_hdr, csum_offset),
	      FIELD(vbus_venet_hdr, reserved)}},
	    {"``struct vbus_venet_event``, 16 bytes:",
	     sizeof(vbus_venet_event),
	     {FIELD(vbus_venet_event, type), FIELD(vbus_venet_event, reserved),
	      FIELD(vbus_venet_event, value), FIELD(vbus_venet_event, reserved2)}},
	    {"The argument, ``struct vbus_kvm_mem_table``, 16 bytes:",
	     sizeof(vbus_kvm_mem_table),
	     {FIELD(vbus_kvm_mem_table, regions), FIELD(vbus_kvm_mem_table, nregions),
	      FIELD(vbus_kvm_mem_table, region_size)}},
	    {"An entry, ``struct vbus_kvm_mem_region``, 32 bytes:",
	     sizeof(vbus_kvm_mem_region),
	     {FIELD(vbus_kvm_mem_region, gpa), FIELD(vbus_kvm_mem_region, size),
	      FIELD(vbus_kvm_mem_region, uaddr), FIELD(vbus_kvm_mem_region, flags)}},
	    // The row without a name is where an event's type string starts.
	    {"One page of guest memory, page-aligned:",
	     std::nullopt,
	     {FIELD(vbus_kvm_call, op),
	      FIELD(vbus_kvm_call, reserved),
	      FIELD(vbus_kvm_call, result),
	      FIELD(vbus_kvm_call, u),
	      {"", {offsetof(vbus_kvm_call, u.event.name), std::nullopt}}}},
	};
}

#undef FIELD

std::string read_doc()
{
	std::ifstream in(VBUS_ABI_RST);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	for (std::string l; std::getline(in, l);) {
		out.push_back(l);
	}
	return out;
}

bool is_border(const std::string &l)
{
	return !l.empty() && l.find_first_not_of("= ") == std::string::npos && l[0] == '=';
}

std::string trim(const std::string &s)
{
	const auto b = s.find_first_not_of(' ');
	if (b == std::string::npos) {
		return "";
	}
	return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// A row of a simple table: its first three columns (offset, size, field),
// cut where the border's columns start.
struct Row {
	std::string offset, size, field;
};

// The rows of the first table after the line holding @anchor.
std::vector<Row> table_after(const std::vector<std::string> &lines, const std::string &anchor)
{
	std::size_t i = 0;
	while (i < lines.size() && lines[i].find(anchor) == std::string::npos) {
		i++;
	}
	if (i == lines.size()) {
		ADD_FAILURE() << "abi.rst has no \"" << anchor << "\"";
		return {};
	}
	while (i < lines.size() && !is_border(lines[i])) {
		i++;
	}
	if (i + 2 >= lines.size()) {
		ADD_FAILURE() << "no table after \"" << anchor << "\"";
		return {};
	}
	const std::string &border = lines[i];
	std::vector<std::size_t> cols{0};
	for (std::size_t p = 1; p < border.size(); p++) {
		if (border[p] == '=' && border[p - 1] == ' ') {
			cols.push_back(p);
		}
	}
	const auto cell = [&](const std::string &l, std::size_t c) {
		if (c >= cols.size() || cols[c] >= l.size()) {
			return std::string();
		}
		const std::size_t end = c + 1 < cols.size() ? cols[c + 1] : l.size();
		return trim(l.substr(cols[c], end - cols[c]));
	};
	// Border, header, border, rows, border.
	std::vector<Row> rows;
	for (i += 3; i < lines.size() && !is_border(lines[i]); i++) {
		const std::string off = cell(lines[i], 0);
		if (off.empty()) {
			continue; // a continuation of the previous row's meaning
		}
		rows.push_back({off, cell(lines[i], 1), cell(lines[i], 2)});
	}
	return rows;
}

TEST(AbiDoc, LayoutTablesMatchTheHeaders)
{
	const std::vector<std::string> lines = lines_of(read_doc());
	ASSERT_GT(lines.size(), 100U) << "cannot read " << VBUS_ABI_RST;
	for (const Layout &l : layouts()) {
		SCOPED_TRACE(l.anchor);
		std::map<std::string, Field> seen;
		std::size_t end = 0;
		for (const Row &r : table_after(lines, l.anchor)) {
			const std::size_t off = std::stoul(r.offset);
			if (r.field.starts_with("(")) { // padding: a size, no name
				EXPECT_GE(off, end) << "padding overlaps at " << r.offset;
				end = off + std::stoul(r.size);
				continue;
			}
			const auto want = l.fields.find(r.field);
			if (want == l.fields.end()) {
				ADD_FAILURE()
				    << "documented field '" << r.field << "' is not in the header";
				continue;
			}
			seen.insert(*want);
			EXPECT_EQ(off, want->second.offset) << "offset of '" << r.field << "'";
			if (want->second.size) {
				EXPECT_GE(off, end)
				    << "'" << r.field << "' overlaps the row before";
				EXPECT_EQ(r.size, std::to_string(*want->second.size))
				    << "size of '" << r.field << "'";
				end = off + *want->second.size;
			}
		}
		for (const auto &[name, f] : l.fields) {
			EXPECT_TRUE(seen.contains(name))
			    << "field '" << name << "' is not documented";
		}
		if (l.size) {
			EXPECT_NE(l.anchor.find(std::to_string(*l.size) + " bytes"),
			          std::string::npos)
			    << "the documented size is not " << *l.size;
		}
	}
}

TEST(AbiDoc, IoctlSizesMatchTheirNumbers)
{
	const std::string doc = read_doc();
	const std::vector<std::pair<std::string, unsigned long>> ioctls = {
	    {"VBUS_KVM_BIND", VBUS_KVM_BIND},
	    {"VBUS_KVM_SET_VECTOR", VBUS_KVM_SET_VECTOR},
	    {"VBUS_KVM_SET_DOORBELL", VBUS_KVM_SET_DOORBELL},
	    {"VBUS_KVM_CALL", VBUS_KVM_CALL},
	    {"VBUS_KVM_SET_MEM_TABLE", VBUS_KVM_SET_MEM_TABLE},
	};
	for (const auto &[name, cmd] : ioctls) {
		const std::regex row("\\n([0-9]+) +" + name + " +``_IOW``, ([0-9]+) bytes");
		std::smatch m;
		ASSERT_TRUE(std::regex_search(doc, m, row)) << name << " has no row";
		EXPECT_EQ(std::stoul(m[1]), _IOC_NR(cmd)) << name;
		EXPECT_EQ(std::stoul(m[2]), _IOC_SIZE(cmd)) << name;
	}
}

TEST(AbiDoc, EventTypeStringOffset)
{
	const std::string doc = read_doc();
	const std::string want =
	    "type string at offset " + std::to_string(offsetof(vbus_kvm_call, u.event.name));
	EXPECT_NE(doc.find(want), std::string::npos) << "abi.rst lacks \"" << want << "\"";
}

TEST(AbiDoc, VenetEventRingId)
{
	std::ostringstream want;
	want << "event ring (id ``0x" << std::hex << VBUS_VENET_SHM_EVENTS << "``)";
	EXPECT_NE(read_doc().find(want.str()), std::string::npos)
	    << "abi.rst lacks \"" << want.str() << "\"";
}

} // namespace
