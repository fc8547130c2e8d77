// A pre-check of JPEG Huffman tables before stb_image decodes a file. Debian's stb_image
// (0.0~git20220908) builds a table from the 16 code-length counts of a DHT segment without
// checking that they sum to at most 256, the size of its symbol arrays: a crafted file writes
// past them (found by fuzz/image_fuzz.cpp; UBSan: index 257 out of bounds for stbi_uc[257]).
// The JPEG standard allows at most 256 symbols per table, so such a file is corrupt: refuse it
// here with one line instead. Only the marker structure is walked; decoding stays stb's.
#include <algorithm>
#include <cstdint>
#include <string>

#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace {

// Checks the tables of one DHT segment's payload [p, end): each is a class/id byte, 16 counts
// and the symbols.
void check_dht(const uint8_t* p, const uint8_t* end, const std::string& name) {
  while (end - p >= 2) {
    int symbols = 0;
    for (int i = 1; i <= 16 && p + i < end; ++i) symbols += p[i];
    if (symbols > 256)
      fail_input(name, ": cannot decode image (corrupt JPEG: a Huffman table declares ", symbols,
                 " codes, at most 256)");
    p += 17 + symbols;
  }
}

}  // namespace

void check_jpeg_tables(const std::string& bytes, const std::string& name) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return;  // not a JPEG
  size_t i = 2;
  bool in_scan = false;  // inside entropy-coded data, which follows a start of scan (SOS)
  while (i + 1 < n) {
    if (in_scan) {
      // Entropy-coded bytes end at a marker: 0xFF not followed by 0x00 (a stuffed byte), a
      // restart marker RSTn or another 0xFF (fill).
      const uint8_t next = b[i + 1];
      if (b[i] != 0xFF || next == 0x00 || next == 0xFF || (next >= 0xD0 && next <= 0xD7)) {
        ++i;
        continue;
      }
      in_scan = false;
    }
    if (b[i] != 0xFF) {  // padding between segments: stb scans on for the next marker
      ++i;
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {  // fill byte before a marker
      ++i;
      continue;
    }
    if (m == 0xD9) return;                                     // end of image
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a length
      i += 2;
      continue;
    }
    if (i + 4 > n) return;
    const size_t len = (size_t{b[i + 2]} << 8) | b[i + 3];
    // A segment cut short by the end of the file is still read by stb (as zeros): check what
    // is there.
    if (m == 0xC4) check_dht(b + i + 4, b + std::min(n, i + 2 + len), name);
    if (len < 2) return;  // stb's error
    if (m == 0xDA) in_scan = true;
    i += 2 + len;
  }
}

}  // namespace edgeopt::data
