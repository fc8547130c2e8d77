// .npy (NumPy format 1.0/2.0/3.0) and .npz reading and writing.
//
// A .npy file is: "\x93NUMPY", major, minor, header length (u16 LE for 1.x, u32 LE after),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline, then the raw elements.
#include <cctype>
#include <cstring>
#include <map>

#include "data/byte_source.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace data {
namespace {

struct DescrEntry {
  const char* code;  // type character and size, without the byte-order mark
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"f2", DType::kF16}, {"f4", DType::kF32}, {"f8", DType::kF64}, {"i1", DType::kI8},
    {"i2", DType::kI16}, {"i4", DType::kI32}, {"i8", DType::kI64}, {"u1", DType::kU8},
    {"u2", DType::kU16}, {"u4", DType::kU32}, {"u8", DType::kU64}, {"b1", DType::kBool},
};

DType dtype_from_descr(const std::string& descr, const std::string& src) {
  if (descr.size() != 3)
    fail_unsupported(src, ": npy dtype '", descr, "' is not supported (structured or exotic)");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  for (const DescrEntry& d : kDescrs) {
    if (code != d.code) continue;
    const bool one_byte = code[1] == '1';
    // '<' little-endian, '|' not applicable (1 byte), '=' native (little on our hosts).
    if (order == '>' && !one_byte)
      fail_unsupported(src, ": big-endian npy data ('", descr, "') is not supported");
    if (order != '<' && order != '|' && order != '=' && order != '>')
      fail_input(src, ": bad npy dtype '", descr, "'");
    return d.dtype;
  }
  fail_unsupported(src, ": npy dtype '", descr,
                   "' is not supported (f2/f4/f8, i1..i8, u1..u8, b1 are)");
}

std::string descr_of(DType t) {
  for (const DescrEntry& d : kDescrs)
    if (d.dtype == t) return std::string(d.code[1] == '1' ? "|" : "<") + d.code;
  fail_unsupported("cannot write dtype ", dtype_name(t), " to .npy");
}

// Minimal parser for the header's Python literal: a dict of str keys whose values are
// strings, True/False, or tuples of non-negative ints.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& src) : s_(text), src_(src) {}

  struct Value {
    enum Kind { kString, kBool, kTuple } kind = kString;
    std::string str;
    bool b = false;
    Shape tuple;
  };

  std::map<std::string, Value> parse_dict() {
    std::map<std::string, Value> out;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = parse_string();
      expect(':');
      out[key] = parse_value();
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      break;
    }
    return out;
  }

 private:
  [[noreturn]] void bad(const char* what) {
    fail_input(src_, ": malformed npy header (", what, " at position ", i_, "): ", s_);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad("unexpected character");
    ++i_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string r = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return r;
  }
  Value parse_value() {
    skip_ws();
    Value v;
    if (peek() == '\'' || peek() == '"') {
      v.str = parse_string();
      return v;
    }
    if (s_.compare(i_, 4, "True") == 0 || s_.compare(i_, 5, "False") == 0) {
      v.kind = Value::kBool;
      v.b = s_[i_] == 'T';
      i_ += v.b ? 4 : 5;
      return v;
    }
    if (peek() != '(') bad("expected a string, a bool or a tuple");
    ++i_;
    v.kind = Value::kTuple;
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++i_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      int64_t d = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (d > (int64_t{1} << 56)) bad("dimension too large");
        d = d * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;  // Python 2 long suffix
      v.tuple.push_back(d);
      skip_ws();
      if (peek() == ',')
        ++i_;
      else if (peek() != ')')
        bad("expected ',' or ')' after a dimension");
    }
    return v;
  }

  const std::string& s_;
  const std::string& src_;
  size_t i_ = 0;
};

}  // namespace

NpyHeader read_npy_header(ByteSource& src) {
  const std::string& name = src.name();
  unsigned char pre[12];
  try {
    src.read_at(0, pre, 10);
  } catch (const Error&) {
    fail_input(name, ": not an .npy file (too short)");
  }
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) fail_input(name, ": not an .npy file (bad magic)");
  const int major = pre[6];
  uint64_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = pre[8] | (pre[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    src.read_at(0, pre, 12);
    header_len = static_cast<uint64_t>(pre[8]) | (static_cast<uint64_t>(pre[9]) << 8) |
                 (static_cast<uint64_t>(pre[10]) << 16) | (static_cast<uint64_t>(pre[11]) << 24);
    header_start = 12;
  } else {
    fail_unsupported(name, ": npy format version ", major, " is not supported");
  }
  if (header_len > (1u << 24)) fail_input(name, ": npy header too large");
  std::string text(header_len, '\0');
  src.read_at(header_start, text.data(), text.size());
  auto dict = HeaderParser(text, name).parse_dict();
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key)) fail_input(name, ": npy header lacks '", key, "'");
  if (dict["descr"].kind != HeaderParser::Value::kString)
    fail_unsupported(name, ": structured npy dtypes are not supported");
  if (dict["fortran_order"].kind != HeaderParser::Value::kBool)
    fail_input(name, ": npy header: fortran_order must be True or False");
  if (dict["fortran_order"].b)
    fail_unsupported(name,
                     ": Fortran-order npy arrays are not supported (save C-order data, "
                     "e.g. numpy.ascontiguousarray)");
  if (dict["shape"].kind != HeaderParser::Value::kTuple)
    fail_input(name, ": npy header: shape must be a tuple");
  NpyHeader h;
  h.dtype = dtype_from_descr(dict["descr"].str, name);
  h.shape = dict["shape"].tuple;
  shape_numel(h.shape);  // overflow check
  h.data_offset = header_start + header_len;
  return h;
}

Tensor read_npy(ByteSource& src) {
  const NpyHeader h = read_npy_header(src);
  // The size the header declares is checked against the file before anything is allocated.
  const uint64_t numel = static_cast<uint64_t>(shape_numel(h.shape));
  const uint64_t elem = dtype_size(h.dtype);
  const bool overflows = elem && numel > UINT64_MAX / elem;
  const uint64_t need = overflows ? UINT64_MAX : numel * elem;
  if (src.size() != UINT64_MAX && (overflows || src.size() - h.data_offset < need))
    fail_input(src.name(), ": npy data is truncated (shape ", shape_str(h.shape), " needs ",
               overflows ? std::string("over 2^64") : std::to_string(need), " bytes, file has ",
               src.size() - h.data_offset, ")");
  Tensor t(h.dtype, h.shape);
  src.read_at(h.data_offset, t.raw(), t.nbytes());
  if (h.dtype == DType::kBool) {
    // Normalise to 0/1 so that bool consumers can trust the bytes.
    auto* b = t.data<uint8_t>();
    for (int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
  }
  return t;
}

}  // namespace data

Tensor load_npy(const fs::path& path) {
  auto src = data::open_file_source(path);
  return data::read_npy(*src);
}

std::string npy_bytes(const Tensor& t) {
  if (!t.has_data() && t.numel() > 0) fail_input("cannot write a tensor without data to .npy");
  // Python tuple syntax: "()", "(5,)", "(2, 3)".
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string dict =
      "{'descr': '" + data::descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape;
  dict += ", }";
  // Pad with spaces so that magic(6) + version(2) + length(2) + header is a multiple of 64,
  // the header ending in '\n'.
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  if (t.nbytes()) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void save_npy(const fs::path& path, const Tensor& t) { write_file_atomic(path, npy_bytes(t)); }

std::vector<std::pair<std::string, Tensor>> load_npz(const fs::path& path) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const data::ZipEntry& e : data::zip_entries(path)) {
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    auto src = data::open_zip_entry(path, e);
    out.emplace_back(name, data::read_npy(*src));
  }
  return out;
}

void save_npz(const fs::path& path, const std::vector<std::pair<std::string, Tensor>>& arrays) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [name, t] : arrays) files.emplace_back(name + ".npy", npy_bytes(t));
  write_file_atomic(path, data::zip_stored(files));
}

}  // namespace edgeopt
