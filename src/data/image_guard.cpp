// Checks of image bytes before stb_image decodes them, for the inputs on which Debian's
// stb_image (0.0~git20220908) corrupts memory or allocates far more than the file can back;
// all were found by fuzz/image_fuzz.cpp.
//
// JPEG Huffman tables. Debian's stb_image
// (0.0~git20220908) builds a table from the 16 code-length counts of a DHT segment without
// checking that they sum to at most 256, the size of its symbol arrays: a crafted file writes
// past them (found by fuzz/image_fuzz.cpp; UBSan: index 257 out of bounds for stbi_uc[257]).
// The JPEG standard allows at most 256 symbols per table, so such a file is corrupt: refuse it
// here with one line instead. Only the marker structure is walked; decoding stays stb's.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace {

// Checks the tables of one DHT segment whose payload is [p, seg_end), as stb reads them: a
// class/id byte, 16 counts and the symbols, table after table while the segment's length
// lasts. stb reads the counts of the last table even past the segment's end (from the bytes
// that follow, as zeros past the file's end), so they are read up to `file_end` here too.
void check_dht(const uint8_t* p, const uint8_t* seg_end, const uint8_t* file_end,
               const std::string& name) {
  while (p < seg_end) {
    int symbols = 0;
    for (int i = 1; i <= 16 && p + i < file_end; ++i) symbols += p[i];
    if (symbols > 256)
      fail_input(name, ": cannot decode image (corrupt JPEG: a Huffman table declares ", symbols,
                 " codes, at most 256)");
    p += 17 + symbols;
  }
}

}  // namespace

static void check_jpeg_tables(const std::string& bytes, const std::string& name) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  // Start of image: 0xFF, any number of 0xFF fill bytes, 0xD8 (stb accepts the fill bytes too).
  if (n < 4 || b[0] != 0xFF) return;
  size_t i = 1;
  while (i < n && b[i] == 0xFF) ++i;
  if (i >= n || b[i] != 0xD8) return;  // not a JPEG
  ++i;
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
    if (m == 0xC4) check_dht(b + i + 4, b + std::min(n, i + 2 + len), b + n, name);
    if (len < 2) return;  // stb's error
    if (m == 0xDA) in_scan = true;
    i += 2 + len;
  }
}

// PNM (P1-P7) headers. Debian's stb_image reads a 16-bit PNM (maxval > 255) past its buffer
// when converting it to 8 bits (ASan: heap-buffer-overflow in stbi__convert_16_to_8), and parses
// header numbers into an int without a bound. 16-bit PNM is refused, and so is a header number
// of more than 9 digits (more than any dimension stb accepts).
static void check_pnm_header(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 2 || bytes[0] != 'P' || bytes[1] < '1' || bytes[1] > '7') return;
  size_t i = 2;
  const int numbers = (bytes[1] == '1' || bytes[1] == '4') ? 2 : 3;  // bitmaps: no maxval
  for (int k = 0; k < numbers; ++k) {
    // Whitespace and '#' comments to the end of the line, as stb skips them.
    while (i < bytes.size()) {
      if (std::isspace(static_cast<unsigned char>(bytes[i]))) {
        ++i;
      } else if (bytes[i] == '#') {
        while (i < bytes.size() && bytes[i] != '\n' && bytes[i] != '\r') ++i;
      } else {
        break;
      }
    }
    size_t digits = 0;
    int64_t value = 0;
    while (i < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[i]))) {
      if (++digits > 9)
        fail_input(name, ": cannot decode image (corrupt PNM: a header number over 9 digits)");
      value = value * 10 + (bytes[i++] - '0');
    }
    if (k == 2 && value > 255)
      fail_input(name, ": cannot decode image (16-bit PNM, maxval ", value,
                 ", is not supported: convert it to 8 bits)");
  }
}

// PNG chunk lengths. Debian's stb_image grows its buffer of compressed image data (IDAT) to an
// IDAT chunk's declared length before reading the chunk: a few hundred bytes declaring a 1 GiB
// chunk allocate 2 GiB (found by the long run of fuzz/image_fuzz.cpp, libFuzzer out-of-memory
// in stbi__parse_png_file). A chunk longer than the rest of the file is corrupt whatever it
// holds: the chunks are walked here and such a file refused.
static void check_png_chunks(const std::string& bytes, const std::string& name) {
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 8 || bytes.compare(0, 8, kSignature, 8) != 0) return;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t i = 8;
  while (i + 8 <= bytes.size()) {
    const uint32_t len =
        (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) | b[i + 3];
    const std::string type(bytes, i + 4, 4);
    const size_t rest = bytes.size() - i - 8;
    if (len > rest) {
      std::string shown;
      for (char c : type) shown += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
      fail_input(name, ": cannot decode image (corrupt PNG: chunk '", shown, "' declares ", len,
                 " bytes, the file has ", rest, " left)");
    }
    if (type == "IEND") return;
    i += size_t{12} + len;  // length, type, data, CRC
  }
}

void check_image_bytes(const std::string& bytes, const std::string& name) {
  check_jpeg_tables(bytes, name);
  check_pnm_header(bytes, name);
  check_png_chunks(bytes, name);
}

}  // namespace edgeopt::data
