// Test helper: compares two ONNX ModelProtos field by field after normalizing how tensors are
// stored, so that a model whose weights moved from float_data (or external data) to raw_data
// compares equal when the decoded values are the same. Used by the round-trip tests.
#pragma once

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "edgeopt/error.h"
#include "ir/onnx_proto_utils.h"

namespace edgeopt::testing {

// Rewrites a TensorProto to one canonical storage: raw_data (little-endian) for numbers,
// string_data for strings, no external data. Values are decoded with tensor_from_proto, so
// a tensor that cannot be decoded is left as it is (and then compared literally).
inline void canonicalize_tensor(onnx::TensorProto* tp, const std::filesystem::path& base_dir) {
  Tensor t;
  try {
    t = tensor_from_proto(*tp, base_dir);
  } catch (const Error&) {
    return;
  }
  tp->clear_float_data();
  tp->clear_int32_data();
  tp->clear_string_data();
  tp->clear_int64_data();
  tp->clear_double_data();
  tp->clear_uint64_data();
  tp->clear_raw_data();
  tp->clear_external_data();
  tp->clear_data_location();
  if (t.dtype() == DType::kString) {
    for (const std::string& s : t.strings()) tp->add_string_data(s);
  } else if (t.nbytes()) {
    tp->set_raw_data(t.raw(), t.nbytes());
  }
}

inline void canonicalize_graph(onnx::GraphProto* g, const std::filesystem::path& base_dir);

inline void canonicalize_sparse(onnx::SparseTensorProto* s, const std::filesystem::path& dir) {
  canonicalize_tensor(s->mutable_values(), dir);
  canonicalize_tensor(s->mutable_indices(), dir);
}

inline void canonicalize_node(onnx::NodeProto* n, const std::filesystem::path& base_dir) {
  for (auto& a : *n->mutable_attribute()) {
    if (a.has_t()) canonicalize_tensor(a.mutable_t(), base_dir);
    for (auto& t : *a.mutable_tensors()) canonicalize_tensor(&t, base_dir);
    if (a.has_g()) canonicalize_graph(a.mutable_g(), base_dir);
    for (auto& g : *a.mutable_graphs()) canonicalize_graph(&g, base_dir);
    if (a.has_sparse_tensor()) canonicalize_sparse(a.mutable_sparse_tensor(), base_dir);
    for (auto& s : *a.mutable_sparse_tensors()) canonicalize_sparse(&s, base_dir);
  }
}

inline void canonicalize_graph(onnx::GraphProto* g, const std::filesystem::path& base_dir) {
  for (auto& t : *g->mutable_initializer()) canonicalize_tensor(&t, base_dir);
  for (auto& s : *g->mutable_sparse_initializer()) canonicalize_sparse(&s, base_dir);
  for (auto& n : *g->mutable_node()) canonicalize_node(&n, base_dir);
}

inline void canonicalize_model(onnx::ModelProto* m, const std::filesystem::path& base_dir) {
  if (m->has_graph()) canonicalize_graph(m->mutable_graph(), base_dir);
  for (auto& f : *m->mutable_functions())
    for (auto& n : *f.mutable_node()) canonicalize_node(&n, base_dir);
  for (auto& ti : *m->mutable_training_info()) {
    if (ti.has_initialization()) canonicalize_graph(ti.mutable_initialization(), base_dir);
    if (ti.has_algorithm()) canonicalize_graph(ti.mutable_algorithm(), base_dir);
  }
}

// Empty when the canonical forms of `a` and `b` are equal; else the differences, one per line
// (at most `max_chars` characters). A field set to its default value equals an unset field
// (proto2 presence carries no meaning in ONNX), and NaN equals NaN.
inline std::string diff_models(onnx::ModelProto a, onnx::ModelProto b,
                               const std::filesystem::path& base_a,
                               const std::filesystem::path& base_b, size_t max_chars = 2000) {
  canonicalize_model(&a, base_a);
  canonicalize_model(&b, base_b);
  google::protobuf::util::MessageDifferencer differ;
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  differ.set_field_comparator(&comparator);
  differ.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
  std::string report;
  differ.ReportDifferencesToString(&report);
  if (differ.Compare(a, b)) return "";
  if (report.empty()) report = "models differ";
  if (report.size() > max_chars) report = report.substr(0, max_chars) + "...";
  // Raw bytes in a report are unreadable: cut lines holding them short.
  std::string out, line;
  for (size_t i = 0; i <= report.size(); ++i) {
    if (i == report.size() || report[i] == '\n') {
      if (line.size() > 300) line = line.substr(0, 300) + "...";
      if (!line.empty()) out += line + "\n";
      line.clear();
    } else {
      line += report[i];
    }
  }
  return out;
}

}  // namespace edgeopt::testing
