// SPDX-License-Identifier: GPL-2.0
// vbus-vm: bzImage setup header parsing.

#include <gtest/gtest.h>

#include <bzimage.hh>
#include <error.hh>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vbusvm
{
namespace
{

// A file with a 2.15 setup header, 3 setup sectors and @payload bytes of
// "kernel".
class FakeImage
{
public:
	explicit FakeImage(std::size_t payload = 4096) : bytes_((4ULL * 512) + payload, 0)
	{
		put8(0x1f1, 3);              // setup_sects
		put32(0x1f4, payload / 16);  // syssize
		put16(0x1fe, 0xaa55);        // boot_flag
		put8(0x201, 0x6a);           // header ends at 0x26c
		put32(0x202, 0x53726448);    // "HdrS"
		put16(0x206, 0x020f);        // version 2.15
		put8(0x211, LOADED_HIGH);    // loadflags
		put32(0x22c, 0x7fffffff);    // initrd_addr_max
		put32(0x230, 0x200000);      // kernel_alignment
		put8(0x234, 1);              // relocatable_kernel
		put16(0x236, XLF_KERNEL_64); // xloadflags
		put32(0x238, 2047);          // cmdline_size
		put64(0x258, 0x1000000);     // pref_address
		put32(0x260, 0x3000000);     // init_size
	}

	void put8(std::size_t at, std::uint8_t v) { bytes_.at(at) = v; }
	void put16(std::size_t at, std::uint16_t v) { std::memcpy(&bytes_.at(at), &v, sizeof v); }
	void put32(std::size_t at, std::uint64_t v)
	{
		const auto v32 = static_cast<std::uint32_t>(v);
		std::memcpy(&bytes_.at(at), &v32, sizeof v32);
	}
	void put64(std::size_t at, std::uint64_t v) { std::memcpy(&bytes_.at(at), &v, sizeof v); }
	std::vector<std::uint8_t> &bytes() { return bytes_; }

private:
	std::vector<std::uint8_t> bytes_;
};

std::string parse_error(std::vector<std::uint8_t> &bytes)
{
	try {
		parse_bzimage(bytes, "bzImage");
	} catch (const Error &e) {
		EXPECT_EQ(e.object(), "bzImage");
		return e.what();
	}
	return "no error";
}

TEST(BzImage, ParsesTheSetupHeader)
{
	FakeImage img(8192);
	const KernelImage k = parse_bzimage(img.bytes(), "bzImage");
	EXPECT_EQ(k.version, 0x020f);
	EXPECT_EQ(k.payload_offset, 4 * 512U);
	EXPECT_EQ(k.payload_size, 8192U);
	EXPECT_EQ(k.load_addr, 0x1000000U);
	EXPECT_EQ(k.mem_size, 0x3000000U);
	EXPECT_EQ(k.cmdline_max, 2047U);
	EXPECT_EQ(k.initrd_addr_max, 0x7fffffffU);
	EXPECT_EQ(k.hdr_len, 0x26cU - 0x1f1U);
	EXPECT_EQ(k.hdr.setup_sects, 3);
	EXPECT_EQ(k.hdr.kernel_alignment, 0x200000U);
}

TEST(BzImage, ZeroSetupSectorsMeansFour)
{
	FakeImage img(8192);
	img.put8(0x1f1, 0);
	img.bytes().resize((5ULL * 512) + 8192);
	const KernelImage k = parse_bzimage(img.bytes(), "bzImage");
	EXPECT_EQ(k.payload_offset, 5 * 512U);
	EXPECT_EQ(k.payload_size, 8192U);
}

TEST(BzImage, MemSizeCoversAFileLargerThanInitSize)
{
	FakeImage img(8192);
	img.put32(0x260, 4096);
	EXPECT_EQ(parse_bzimage(img.bytes(), "bzImage").mem_size, 8192U);
}

TEST(BzImage, RefusesABadSignature)
{
	FakeImage img;
	img.put32(0x202, 0x12345678);
	EXPECT_NE(parse_error(img.bytes()).find("no HdrS signature"), std::string::npos);
}

TEST(BzImage, RefusesAMissingBootFlag)
{
	FakeImage img;
	img.put16(0x1fe, 0);
	EXPECT_NE(parse_error(img.bytes()).find("boot flag"), std::string::npos);
}

TEST(BzImage, RefusesAnOldProtocol)
{
	FakeImage img;
	img.put16(0x206, 0x0206);
	EXPECT_EQ(parse_error(img.bytes()),
	          "bzImage: read kernel: boot protocol 2.06 is too old: 64-bit entry needs 2.12");
}

TEST(BzImage, RefusesAKernelWithout64BitEntry)
{
	FakeImage img;
	img.put16(0x236, 0);
	EXPECT_NE(parse_error(img.bytes()).find("no 64-bit entry point"), std::string::npos);
}

TEST(BzImage, RefusesAZImage)
{
	FakeImage img;
	img.put8(0x211, 0);
	EXPECT_NE(parse_error(img.bytes()).find("zImage"), std::string::npos);
}

TEST(BzImage, RefusesTruncatedFiles)
{
	FakeImage img(8192);
	img.bytes().resize((4ULL * 512) + 1024);
	EXPECT_NE(parse_error(img.bytes()).find("truncated"), std::string::npos);

	img.bytes().resize(4ULL * 512);
	EXPECT_NE(parse_error(img.bytes()).find("truncated"), std::string::npos);

	std::vector<std::uint8_t> tiny(0x100, 0);
	EXPECT_NE(parse_error(tiny).find("too small"), std::string::npos);
}

TEST(BzImage, ProtocolString)
{
	EXPECT_EQ(protocol_string(0x020f), "2.15");
	EXPECT_EQ(protocol_string(0x0206), "2.06");
	EXPECT_EQ(protocol_string(0x0300), "3.00");
}

} // namespace
} // namespace vbusvm
