// kiln_runtime_example MODEL.kiln: loads an engine with libkiln_runtime alone (no compiler code, no
// Python, no torch), fills every input at its opt shape with a deterministic pattern, runs it once,
// and prints each output's shape and first values. Exit 0 on success; otherwise the error message
// and exit 1. It uses only include/kiln/runtime.h, as a user's program would.
#include <cstdio>
#include <vector>

#include "kiln/runtime.h"

namespace {

std::string shape_text(const kiln::ConcreteShape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Element i of the pattern: floats cycle through -1, -0.875, ..., 1; integers 0..9; bools
// alternate.
void fill_pattern(const kiln::TensorView& t) {
  auto* p = static_cast<uint8_t*>(t.data);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float f = static_cast<float>(i % 17 - 8) / 8.0f;
    switch (t.dtype) {
      case kiln::DType::kF32: reinterpret_cast<float*>(p)[i] = f; break;
      case kiln::DType::kF64: reinterpret_cast<double*>(p)[i] = f; break;
      case kiln::DType::kF16: reinterpret_cast<uint16_t*>(p)[i] = kiln::f32_to_f16(f); break;
      case kiln::DType::kBF16: reinterpret_cast<uint16_t*>(p)[i] = kiln::f32_to_bf16(f); break;
      case kiln::DType::kI64: reinterpret_cast<int64_t*>(p)[i] = i % 10; break;
      case kiln::DType::kI32: reinterpret_cast<int32_t*>(p)[i] = int32_t(i % 10); break;
      case kiln::DType::kI8: reinterpret_cast<int8_t*>(p)[i] = static_cast<int8_t>(i % 10); break;
      case kiln::DType::kU8: p[i] = static_cast<uint8_t>(i % 10); break;
      case kiln::DType::kBool: p[i] = static_cast<uint8_t>(i % 2); break;
    }
  }
}

double element(const kiln::TensorView& t, int64_t i) {
  const auto* p = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case kiln::DType::kF32: return reinterpret_cast<const float*>(p)[i];
    case kiln::DType::kF64: return reinterpret_cast<const double*>(p)[i];
    case kiln::DType::kF16: return kiln::f16_to_f32(reinterpret_cast<const uint16_t*>(p)[i]);
    case kiln::DType::kBF16: return kiln::bf16_to_f32(reinterpret_cast<const uint16_t*>(p)[i]);
    case kiln::DType::kI64: return static_cast<double>(reinterpret_cast<const int64_t*>(p)[i]);
    case kiln::DType::kI32: return reinterpret_cast<const int32_t*>(p)[i];
    case kiln::DType::kI8: return reinterpret_cast<const int8_t*>(p)[i];
    case kiln::DType::kU8: return p[i];
    case kiln::DType::kBool: return p[i];
  }
  return 0;
}

int fail(const kiln::Status& status) {
  std::fprintf(stderr, "kiln_runtime_example: error: %s\n", status.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kiln_runtime_example MODEL.kiln\n");
    return 2;
  }
  auto engine = kiln::Engine::from_file(argv[1]);
  if (!engine.ok()) return fail(engine.status());
  const kiln::Graph& g = (*engine)->graph();

  // 1. Every input at its opt shape: each symbol takes its opt value.
  std::vector<int64_t> opt;
  for (const kiln::SymbolInfo& s : g.symbols) opt.push_back(s.opt);
  std::vector<kiln::ConcreteShape> shapes;
  for (const kiln::IOInfo& io : (*engine)->inputs()) {
    kiln::ConcreteShape shape;
    for (const kiln::DimExpr& d : io.shape) {
      auto v = d.evaluate(opt);
      if (!v.ok()) return fail(v.status());
      shape.push_back(*v);
    }
    shapes.push_back(std::move(shape));
  }
  kiln::ExecutionContext ctx(*engine);
  auto out_shapes = ctx.infer_output_shapes(shapes);
  if (!out_shapes.ok()) return fail(out_shapes.status());

  // 2. Buffers, then one run.
  std::vector<std::vector<uint8_t>> storage;
  auto make_view = [&](kiln::DType dtype, const kiln::ConcreteShape& shape) {
    kiln::TensorView t{nullptr, dtype, shape};
    storage.emplace_back(static_cast<size_t>(t.nbytes()));
    t.data = storage.back().data();
    return t;
  };
  std::vector<kiln::TensorView> inputs, outputs;
  std::vector<kiln::IOInfo> in_info = (*engine)->inputs(), out_info = (*engine)->outputs();
  for (size_t i = 0; i < in_info.size(); ++i) {
    inputs.push_back(make_view(in_info[i].dtype, shapes[i]));
    fill_pattern(inputs.back());
  }
  for (size_t i = 0; i < out_info.size(); ++i) {
    outputs.push_back(make_view(out_info[i].dtype, (*out_shapes)[i]));
  }
  if (kiln::Status s = ctx.run(inputs, outputs); !s.ok()) return fail(s);

  // 3. What came out.
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::printf("%s: %s%s", out_info[i].name.c_str(),
                std::string(kiln::dtype_name(outputs[i].dtype)).c_str(),
                shape_text(outputs[i].shape).c_str());
    for (int64_t k = 0; k < std::min<int64_t>(outputs[i].numel(), 8); ++k) {
      std::printf("%s%.6g", k == 0 ? " = " : " ", element(outputs[i], k));
    }
    std::printf("%s\n", outputs[i].numel() > 8 ? " ..." : "");
  }
  return 0;
}
