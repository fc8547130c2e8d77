// --shape: parsing, fixing input dims, and the symbolic-dim check (see input_shapes.h).
#include "edgeopt/input_shapes.h"

#include <cctype>
#include <charconv>

#include "edgeopt/error.h"

namespace edgeopt {

namespace {

// "1x3xHxW": static dims as numbers, a symbolic batch as 1, other symbolic dims by the first
// letter of their name upper-cased (or D<i> when unnamed).
std::string shape_hint(const ValueInfo& in) {
  std::string s;
  for (size_t d = 0; d < in.dims.size(); ++d) {
    const Dim& dim = in.dims[d];
    s += d ? "x" : "";
    if (dim.is_static())
      s += std::to_string(dim.value);
    else if (d == 0)
      s += "1";
    else if (!dim.param.empty() && std::isalpha(static_cast<unsigned char>(dim.param[0])))
      s += static_cast<char>(std::toupper(static_cast<unsigned char>(dim.param[0])));
    else
      s += "D" + std::to_string(d);
  }
  return s;
}

}  // namespace

InputShape parse_input_shape(const std::string& text) {
  InputShape r;
  const size_t colon = text.rfind(':');
  std::string dims = text;
  if (colon != std::string::npos) {
    r.name = text.substr(0, colon);
    dims = text.substr(colon + 1);
    if (r.name.empty()) fail_input("--shape '", text, "': empty input name before ':'");
  }
  size_t start = 0;
  while (true) {
    const size_t x = dims.find('x', start);
    const std::string d =
        dims.substr(start, x == std::string::npos ? std::string::npos : x - start);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    if (d.empty() || ec != std::errc() || end != d.data() + d.size() || v <= 0)
      fail_input("--shape '", text, "': '", d,
                 "' is not a positive dim (expected NAME:1x3x224x224 or 1x3x224x224)");
    r.dims.push_back(v);
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return r;
}

void set_input_shapes(Model& model, const std::vector<InputShape>& shapes) {
  std::vector<ValueInfo*> ins;
  for (ValueInfo& v : model.graph.inputs)
    if (!model.graph.find_initializer(v.name)) ins.push_back(&v);
  for (const InputShape& s : shapes) {
    ValueInfo* in = nullptr;
    if (s.name.empty()) {
      if (ins.size() != 1)
        fail_input("--shape ", shape_str(s.dims), ": the model has ", ins.size(),
                   " inputs; name one (--shape NAME:", shape_str(s.dims), ")");
      in = ins[0];
    } else {
      for (ValueInfo* v : ins)
        if (v->name == s.name) in = v;
      if (!in) {
        std::string list;
        for (const ValueInfo* v : ins) list += (list.empty() ? "" : ", ") + v->name;
        fail_input("--shape: the model has no input '", s.name, "' (inputs: ", list, ")");
      }
    }
    if (in->has_shape && in->dims.size() != s.dims.size())
      fail_input("--shape: input '", in->name, "' has rank ", in->dims.size(), ", --shape gives ",
                 shape_str(s.dims));
    for (size_t d = 0; in->has_shape && d < s.dims.size(); ++d)
      if (in->dims[d].is_static() && in->dims[d].value != s.dims[d])
        fail_input("--shape: input '", in->name, "' dim ", d, " is ", in->dims[d].value,
                   " in the model, --shape gives ", s.dims[d]);
    in->has_shape = true;
    in->dims.clear();
    for (int64_t v : s.dims) in->dims.push_back(Dim{v, ""});
  }
}

void require_static_dims(const Model& model) {
  for (const ValueInfo* in : model.graph.real_inputs())
    for (size_t d = 1; d < in->dims.size(); ++d)
      if (!in->dims[d].is_static())
        fail_input("input '", in->name, "' dim ", d, " '",
                   in->dims[d].param.empty() ? std::string("?") : in->dims[d].param,
                   "' is symbolic: give --shape ", in->name, ":", shape_hint(*in));
}

std::vector<std::string> symbolic_batch_inputs(const Model& model) {
  std::vector<std::string> out;
  for (const ValueInfo* in : model.graph.real_inputs())
    if (!in->dims.empty() && !in->dims[0].is_static()) out.push_back(in->name);
  return out;
}

}  // namespace edgeopt
