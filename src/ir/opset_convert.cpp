// Raising a model's default-domain opset with ONNX's version converter, for operations that
// emit ops or attributes a newer opset introduced (per-channel DequantizeLinear needs 13).
#include <onnx/defs/schema.h>
#include <onnx/version_converter/convert.h>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "onnx_proto_utils.h"

namespace edgeopt {

std::string ensure_opset(Model& model, int64_t min_opset, const std::string& why) {
  const int64_t from = model.opset("");
  if (from >= min_opset) return "";
  if (from <= 0) fail_unsupported("the model imports no default-domain opset; ", why);
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(model_to_proto(model),
                                                         static_cast<int>(min_opset));
  } catch (const std::exception& e) {
    // The converter names an op it has no adapter for, but fails with a bare map lookup error
    // on an op without a registered schema (a vendor domain): name that node instead.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n')).substr(0, 300);
    for (const Node& n : model.graph.nodes) {
      if (onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(model.opset(n.domain)),
                                         n.domain))
        continue;
      msg = "no ONNX schema for node '" + n.name + "' (" + n.domain + "." + n.op_type + ")";
      break;
    }
    fail_unsupported("cannot convert the model from opset ", from, " to ", min_opset, " (", why,
                     "): ", msg);
  }
  LoadOptions check;
  Model out;
  try {
    out = model_from_proto(std::move(converted), {}, check);
  } catch (const Error& e) {
    fail_unsupported("converting the model from opset ", from, " to ", min_opset, " (", why,
                     ") gave an invalid model: ", e.what());
  }
  model = std::move(out);
  return detail::concat("converted model from opset ", from, " to ", min_opset, " (", why, ")");
}

}  // namespace edgeopt
