// Harness cases of the CUDA data-movement families (src/kernels/cuda/movement.cu and
// movement_index.cu): reshape, permute, expand, slice, concat, split, take, gather, pad, tile,
// flip, roll and trilu on every dtype (f32, f16, bf16, i64, i32, i8, u8, bool), ranks 0 to 6,
// negative axes, odd sizes, empty tensors, and every attribute mode (slice bounds that are
// negative, clamped, symbolic and empty; pad constant / reflect / replicate with negative pads;
// roll with and without axes and with a repeated axis; take with negative indices), and cases
// aimed at the copy's fast paths: NCHW <-> NHWC permutes (tiled and looped transposes) and pads
// of the innermost dim (packed stores), each with shapes that do and do not take them. Plus one
// direct test of what the CUDA take and gather do with out-of-range indices (the reference
// refuses them, so the harness cannot compare them). Moved elements are bit-identical to the
// reference's, so no case needs a tolerance.
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "kiln/text/parser.h"

namespace kiln::harness {
namespace {

const char* const kAllTypes[] = {"f32", "f16", "bf16", "i64", "i32", "i8", "u8", "bool"};

// The symbols a, b, c, d in [0, 100000], for shapes bound per case.
const std::string kSymbols =
    "  symbol a in [0, 100000] opt 2\n  symbol b in [0, 100000] opt 3\n"
    "  symbol c in [0, 100000] opt 4\n  symbol d in [0, 100000] opt 5\n";

// A graph over `inputs` ("  input %x : ...\n" lines) with `body` (nodes) returning `ret`.
std::string graph(const std::string& inputs, const std::string& body, const std::string& ret) {
  return "graph @g {\n" + kSymbols + inputs + body + "  return " + ret + "\n}\n";
}

std::string input(const std::string& name, const std::string& dt, const std::string& dims) {
  return "  input %" + name + " : " + dt + "[" + dims + "]\n";
}

using Shapes = std::vector<std::map<std::string, int64_t>>;

// Shapes of [a, b, c] inputs: odd sizes, size 1, sizes past a block, and empty.
Shapes abc_shapes() {
  return {{{"a", 2}, {"b", 3}, {"c", 5}, {"d", 1}},   {{"a", 3}, {"b", 33}, {"c", 17}, {"d", 2}},
          {{"a", 1}, {"b", 7}, {"c", 1}, {"d", 3}},   {{"a", 5}, {"b", 4}, {"c", 64}, {"d", 4}},
          {{"a", 2}, {"b", 300}, {"c", 9}, {"d", 1}}, {{"a", 0}, {"b", 3}, {"c", 4}, {"d", 2}}};
}

HarnessCase make(const std::string& name, const std::string& ir, Shapes shapes) {
  HarnessCase c;
  c.name = name;
  c.ir = ir;
  c.shapes = std::move(shapes);
  c.range.special = 0.02;  // NaN, infinities and signed zeros move like any other bits
  return c;
}

std::vector<HarnessCase> movement_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kAllTypes) {
    const std::string dt = dt_c;
    const std::string x = input("x", dt, "a, b, c");

    // reshape: flatten, split a dim, rank 0 <-> rank 2.
    cases.push_back(make("reshape_" + dt,
                         graph(x + input("s", dt, ""),
                               "  %0 = reshape(%x) {shape=[a, b*c]}\n"
                               "  %1 = reshape(%x) {shape=[a*b*c]}\n"
                               "  %2 = reshape(%x) {shape=[a, 1, b, c, 1]}\n"
                               "  %3 = reshape(%s) {shape=[1, 1]}\n"
                               "  %4 = reshape(%3) {shape=[]}\n",
                               "%0, %1, %2, %3, %4"),
                         abc_shapes()));

    // permute: ranks 0 to 6, negative axes.
    cases.push_back(make(
        "permute_" + dt,
        graph(x + input("s", dt, "") + input("v", dt, "c") + input("m", dt, "a, c") +
                  input("q", dt, "a, 3, b, c") + input("p5", dt, "2, 3, a, 5, 4") +
                  input("p6", dt, "3, 1, 2, a, 5, 2"),
              "  %0 = permute(%x) {perm=[0, 2, 1]}\n"
              "  %1 = permute(%x) {perm=[2, 0, 1]}\n"
              "  %2 = permute(%x) {perm=[-1, 0, -2]}\n"
              "  %3 = permute(%s) {perm=[]}\n"
              "  %4 = permute(%v) {perm=[0]}\n"
              "  %5 = permute(%m) {perm=[1, 0]}\n"
              "  %6 = permute(%q) {perm=[0, 2, 1, 3]}\n"
              "  %7 = permute(%q) {perm=[0, 3, 1, 2]}\n"
              "  %8 = permute(%p5) {perm=[4, 3, 2, 1, 0]}\n"
              "  %9 = permute(%p6) {perm=[5, 0, 4, 1, 3, 2]}\n",
              "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9"),
        abc_shapes()));

    // permute fast paths (movement.cu): NCHW <-> NHWC ([0, 2, 3, 1] and [0, 3, 1, 2]) as tiled
    // transposes (both swapped dims > 8, partial edge tiles), as loops over a short dim (C = 3:
    // the image layout change; C = 3 the other way), a transpose under three lead dims that do
    // not merge, and a perm that keeps the innermost dim (generic path). Shapes: odd, tiny,
    // size 1, ResNet's [n, 2048, 7, 7] tail, over 1M elements, and empty.
    cases.push_back(make(
        "permute_nhwc_" + dt,
        graph(input("q", dt, "a, b, c, d") + input("i", dt, "a, 3, c, d") +
                  input("j", dt, "a, c, d, 3") + input("p5", dt, "2, 3, a, b, c"),
              "  %0 = permute(%q) {perm=[0, 2, 3, 1]}\n"
              "  %1 = permute(%q) {perm=[0, 3, 1, 2]}\n"
              "  %2 = permute(%i) {perm=[0, 2, 3, 1]}\n"
              "  %3 = permute(%j) {perm=[0, 3, 1, 2]}\n"
              "  %4 = permute(%p5) {perm=[1, 0, 3, 4, 2]}\n"
              "  %5 = permute(%q) {perm=[1, 0, 2, 3]}\n"
              "  %6 = permute(%q) {perm=[3, 2, 1, 0]}\n",
              "%0, %1, %2, %3, %4, %5, %6"),
        {{{"a", 2}, {"b", 33}, {"c", 17}, {"d", 5}},
         {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}},
         {{"a", 2}, {"b", 2048}, {"c", 7}, {"d", 7}},
         {{"a", 1}, {"b", 64}, {"c", 130}, {"d", 130}},
         {{"a", 3}, {"b", 9}, {"c", 1}, {"d", 40}},
         {{"a", 0}, {"b", 3}, {"c", 4}, {"d", 2}}}));

    // expand: new leading dims, broadcast inner and outer dims, rank 0.
    cases.push_back(make("expand_" + dt,
                         graph(input("x", dt, "a, 1, c") + input("s", dt, "") +
                                   input("r", dt, "1, b, 1"),
                               "  %0 = expand(%x) {shape=[a, 3, c]}\n"
                               "  %1 = expand(%x) {shape=[2, 1, a, 5, c]}\n"
                               "  %2 = expand(%s) {shape=[2, 3]}\n"
                               "  %3 = expand(%r) {shape=[4, b, 7]}\n"
                               "  %4 = expand(%x) {shape=[-1, 1, -1]}\n",
                               "%0, %1, %2, %3, %4"),
                         abc_shapes()));

    // slice: every axis, steps, negative and clamped bounds, symbolic bounds, empty results.
    HarnessCase slice = make(
        "slice_" + dt,
        graph(x,
              "  %0 = slice(%x) {axis=1, start=0, end=b, step=1}\n"
              "  %1 = slice(%x) {axis=1, start=1, end=b - 1, step=2}\n"
              "  %2 = slice(%x) {axis=-1, start=-3, end=100000, step=1}\n"
              "  %3 = slice(%x) {axis=-1, start=-100000, end=-1, step=3}\n"
              "  %4 = slice(%x) {axis=0, start=1, end=a, step=4}\n"
              "  %5 = slice(%x) {axis=2, start=2, end=1, step=1}\n"
              "  %6 = slice(%x) {axis=-2, start=b - 2, end=b, step=1}\n",
              "%0, %1, %2, %3, %4, %5, %6"),
        abc_shapes());
    cases.push_back(slice);

    // concat: along each axis, with an empty input, a single input, negative axes.
    cases.push_back(make(
        "concat_" + dt,
        graph(x + input("y", dt, "a, d, c") + input("z", dt, "a, 1, c") +
                  input("w", dt, "d, b, c") + input("e", dt, "a, b, 0") + input("v", dt, "c") +
                  input("u", dt, "d"),
              "  %0 = concat(%x, %y, %z) {axis=1}\n"
              "  %1 = concat(%x, %w) {axis=0}\n"
              "  %2 = concat(%x, %e, %x) {axis=-1}\n"
              "  %3 = concat(%x) {axis=-2}\n"
              "  %4 = concat(%v, %u, %v) {axis=0}\n",
              "%0, %1, %2, %3, %4"),
        // Not a = 0: the reference refuses a concat whose inputs are all empty (it skips empty
        // inputs, then finds the axis unfilled), and so does the CUDA kernel.
        {{{"a", 2}, {"b", 3}, {"c", 5}, {"d", 1}},
         {{"a", 3}, {"b", 33}, {"c", 17}, {"d", 2}},
         {{"a", 1}, {"b", 7}, {"c", 1}, {"d", 0}},
         {{"a", 5}, {"b", 4}, {"c", 64}, {"d", 4}},
         {{"a", 2}, {"b", 300}, {"c", 9}, {"d", 1}}}));

    // split: symbolic and static sizes, empty pieces, every axis.
    cases.push_back(make("split_" + dt,
                         graph(input("x", dt, "a, b, c") + input("t", dt, "a, 10, c"),
                               "  %0, %1 = split(%x) {axis=1, sizes=[1, b - 1]}\n"
                               "  %2, %3, %4 = split(%t) {axis=-2, sizes=[3, 0, 7]}\n"
                               "  %5, %6 = split(%x) {axis=-1, sizes=[c - 1, 1]}\n"
                               "  %7 = split(%x) {axis=0, sizes=[a]}\n",
                               "%0, %1, %2, %3, %4, %5, %6, %7"),
                         abc_shapes()));

    // take: index_select / embedding / x[idx]; negative indices; index ranks 0 to 2.
    HarnessCase take = make(
        "take_" + dt,
        graph(input("x", dt, "a, 7, c") + input("e", dt, "9, c") + input("i", "i64", "d") +
                  input("j", "i32", "d, 2") + input("k", "i64", "") + input("m", "i64", "b, d"),
              "  %0 = take(%x, %i) {axis=1}\n"
              "  %1 = take(%x, %j) {axis=-2}\n"
              "  %2 = take(%x, %k) {axis=1}\n"
              "  %3 = take(%e, %m) {axis=0}\n"
              "  %4 = take(%e, %j) {axis=-2}\n",
              "%0, %1, %2, %3, %4"),
        abc_shapes());
    for (const char* idx : {"i", "j", "k", "m"}) take.inputs[idx] = InputRange{-7, 6};
    cases.push_back(take);

    // take along the last axis (inner run of one element) and axis 0 of a rank-1 tensor.
    HarnessCase take_last = make("take_last_" + dt,
                                 graph(input("x", dt, "a, 5") + input("v", dt, "6") +
                                           input("i", "i64", "d") + input("j", "i32", "b, d"),
                                       "  %0 = take(%x, %i) {axis=-1}\n"
                                       "  %1 = take(%v, %j) {axis=0}\n",
                                       "%0, %1"),
                                 abc_shapes());
    take_last.inputs["i"] = InputRange{-5, 4};
    take_last.inputs["j"] = InputRange{-5, 4};
    cases.push_back(take_last);

    // gather: index smaller than x in the other dims, every axis, rank 1.
    HarnessCase gather = make(
        "gather_" + dt,
        graph(input("x", dt, "a, 9, c") + input("i", "i64", "a, d, c") +
                  input("t", dt, "5, 9, 7") + input("j", "i32", "3, d, 6") + input("v", dt, "9") +
                  input("k", "i64", "d") + input("h", "i64", "a, 2, 1"),
              "  %0 = gather(%x, %i) {axis=1}\n"
              "  %1 = gather(%t, %j) {axis=-2}\n"
              "  %2 = gather(%v, %k) {axis=0}\n"
              "  %3 = gather(%x, %h) {axis=1}\n",
              "%0, %1, %2, %3"),
        abc_shapes());
    for (const char* idx : {"i", "j", "k", "h"}) gather.inputs[idx] = InputRange{0, 8};
    cases.push_back(gather);

    // pad: every mode, negative pads (crops), a dim padded on one side only, ranks 1 to 4.
    HarnessCase pad = make(
        "pad_" + dt,
        graph(input("x", dt, "a, b, c") + input("v", dt, "c") + input("q", dt, "2, a, b, c"),
              "  %0 = pad(%x) {pads=[0, 0, 1, 2, -1, 3], mode=constant, value=1.5}\n"
              "  %1 = pad(%x) {pads=[0, 0, 2, 1, 1, 2], mode=reflect}\n"
              "  %2 = pad(%x) {pads=[1, 1, 0, 3, 2, 0], mode=replicate}\n"
              "  %3 = pad(%v) {pads=[3, 1], mode=constant, value=-2.5}\n"
              "  %4 = pad(%q) {pads=[0, 1, 1, 0, 0, 0, 2, 2], mode=replicate}\n"
              "  %5 = pad(%x) {pads=[0, 0, -1, -1, 0, 0], mode=reflect}\n"
              "  %6 = pad(%x) {pads=[1, 0, 0, 0, -2, 1], mode=constant, value=0}\n",
              "%0, %1, %2, %3, %4, %5, %6"),
        // reflect needs b >= 3 and c >= 3 (pads of 2); no empty input dim for reflect/replicate.
        {{{"a", 2}, {"b", 3}, {"c", 5}, {"d", 1}},
         {{"a", 3}, {"b", 33}, {"c", 17}, {"d", 2}},
         {{"a", 1}, {"b", 7}, {"c", 3}, {"d", 3}},
         {{"a", 5}, {"b", 4}, {"c", 64}, {"d", 4}}});
    cases.push_back(pad);

    // pad of the innermost dim (movement.cu packs up to 16 bytes of output per thread when the
    // padded row allows): 3 -> 8 zeros as for ResNet's stem, odd results, crops, a crop and a pad
    // together, replicate and reflect; shapes with rows that do and do not pack, one over 1M
    // elements, and empty.
    HarnessCase pad_last = make(
        "pad_last_" + dt,
        graph(input("x", dt, "a, b, c"),
              "  %0 = pad(%x) {pads=[0, 0, 0, 0, 0, 5], mode=constant, value=0}\n"
              "  %1 = pad(%x) {pads=[0, 0, 0, 0, 1, 4], mode=constant, value=-3}\n"
              "  %2 = pad(%x) {pads=[0, 0, 0, 0, 2, 3], mode=replicate}\n"
              "  %3 = pad(%x) {pads=[0, 0, 0, 0, -1, 6], mode=constant, value=2}\n"
              "  %4 = pad(%x) {pads=[0, 0, 1, 0, 0, 1], mode=constant, value=1}\n"
              "  %5 = pad(%x) {pads=[0, 0, 0, 0, 0, 13], mode=replicate}\n",
              "%0, %1, %2, %3, %4, %5"),
        {{{"a", 2}, {"b", 3}, {"c", 3}, {"d", 1}},
         {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}},
         {{"a", 3}, {"b", 33}, {"c", 11}, {"d", 2}},
         {{"a", 480}, {"b", 224}, {"c", 3}, {"d", 1}},
         {{"a", 0}, {"b", 3}, {"c", 4}, {"d", 2}}});
    cases.push_back(pad_last);
    // reflect of the innermost dim by up to 3 needs c >= 4.
    cases.push_back(make("pad_last_reflect_" + dt,
                         graph(input("x", dt, "a, b, c"),
                               "  %0 = pad(%x) {pads=[0, 0, 0, 0, 2, 3], mode=reflect}\n"
                               "  %1 = pad(%x) {pads=[0, 0, 0, 0, 0, 3], mode=reflect}\n",
                               "%0, %1"),
                         {{{"a", 2}, {"b", 3}, {"c", 5}, {"d", 1}},
                          {{"a", 3}, {"b", 7}, {"c", 4}, {"d", 1}},
                          {{"a", 1}, {"b", 1}, {"c", 12}, {"d", 1}}}));

    // tile: extra leading repeats, zero repeats, rank 0.
    cases.push_back(make("tile_" + dt,
                         graph(x + input("s", dt, ""),
                               "  %0 = tile(%x) {repeats=[2, 1, 3]}\n"
                               "  %1 = tile(%x) {repeats=[2, 1, 1, 2]}\n"
                               "  %2 = tile(%x) {repeats=[1, 0, 1]}\n"
                               "  %3 = tile(%s) {repeats=[3, 2]}\n"
                               "  %4 = tile(%x) {repeats=[1, 1, 1]}\n",
                               "%0, %1, %2, %3, %4"),
                         abc_shapes()));

    // flip: one axis, several, negative, none, rank 0.
    cases.push_back(make("flip_" + dt,
                         graph(x + input("s", dt, ""),
                               "  %0 = flip(%x) {axes=[0]}\n"
                               "  %1 = flip(%x) {axes=[1, -1]}\n"
                               "  %2 = flip(%x) {axes=[]}\n"
                               "  %3 = flip(%x) {axes=[-1]}\n"
                               "  %4 = flip(%s) {axes=[]}\n"
                               "  %5 = flip(%x) {axes=[2, 0, 1]}\n",
                               "%0, %1, %2, %3, %4, %5"),
                         abc_shapes()));

    // roll: flattened, per axis, negative shifts, a repeated axis, shifts larger than the dim.
    cases.push_back(make("roll_" + dt,
                         graph(x + input("s", dt, ""),
                               "  %0 = roll(%x) {shifts=[2], axes=[]}\n"
                               "  %1 = roll(%x) {shifts=[1, -3], axes=[1, 2]}\n"
                               "  %2 = roll(%x) {shifts=[5, 2], axes=[0, 0]}\n"
                               "  %3 = roll(%x) {shifts=[-1], axes=[-1]}\n"
                               "  %4 = roll(%x) {shifts=[-1000], axes=[]}\n"
                               "  %5 = roll(%s) {shifts=[3], axes=[]}\n"
                               "  %6 = roll(%x) {shifts=[0], axes=[1]}\n",
                               "%0, %1, %2, %3, %4, %5, %6"),
                         abc_shapes()));

    // trilu: upper and lower, diagonals inside and outside the matrix, rank 2 and 4.
    cases.push_back(make("trilu_" + dt,
                         graph(x + input("m", dt, "b, c") + input("q", dt, "2, a, b, c"),
                               "  %0 = trilu(%x) {upper=true, diagonal=0}\n"
                               "  %1 = trilu(%x) {upper=false, diagonal=0}\n"
                               "  %2 = trilu(%x) {upper=true, diagonal=-2}\n"
                               "  %3 = trilu(%x) {upper=false, diagonal=1}\n"
                               "  %4 = trilu(%m) {upper=true, diagonal=5}\n"
                               "  %5 = trilu(%m) {upper=false, diagonal=-100}\n"
                               "  %6 = trilu(%q) {upper=false, diagonal=-1}\n",
                               "%0, %1, %2, %3, %4, %5, %6"),
                         abc_shapes()));
  }
  return cases;
}

KILN_HARNESS_CASES(Movement, movement_cases);

// ---- Out-of-range indices -----------------------------------------------------------------------

// The reference refuses an out-of-range index with OutOfRange; the CUDA kernels cannot report
// without synchronising, so they write zero bytes for the elements such an index selects and never
// read outside x (compute-sanitizer on the GPU machine checks the "never"). Valid indices still
// select the right rows.
struct IndexRun {
  std::vector<float> out;
  Status status;
};

IndexRun run_index_kernel(Device& device, const std::string& ir, const char* kernel,
                          const std::vector<float>& x, const ConcreteShape& x_shape,
                          const std::vector<int64_t>& idx, const ConcreteShape& idx_shape,
                          const ConcreteShape& out_shape) {
  IndexRun r;
  Expected<Graph> g = parse_graph(ir, "index_test");
  if (!g.ok()) return {{}, g.status()};
  const Kernel* k = find_kernel(kernel);
  if (k == nullptr) return {{}, not_found(kernel, " is not registered")};
  const int64_t out_n = concrete_numel(out_shape);
  auto alloc = [&](int64_t bytes, const void* host) -> Expected<void*> {
    KILN_ASSIGN_OR_RETURN(void* p, device.allocate(bytes));
    if (host != nullptr) KILN_RETURN_IF_ERROR(device.upload(p, host, bytes));
    return p;
  };
  Expected<void*> xd = alloc(static_cast<int64_t>(x.size() * 4), x.data());
  Expected<void*> id = alloc(static_cast<int64_t>(idx.size() * 8), idx.data());
  std::vector<float> poisoned(static_cast<size_t>(out_n), 12345.0f);
  Expected<void*> od = alloc(out_n * 4, poisoned.data());
  if (!xd.ok() || !id.ok() || !od.ok()) return {{}, internal_error("allocation failed")};
  const TensorView ins[] = {{*xd, DType::kF32, x_shape}, {*id, DType::kI64, idx_shape}};
  const TensorView outs[] = {{*od, DType::kF32, out_shape}};
  KernelArgs args{g->nodes.back(), {}, ins, outs, device.stream()};
  r.status = k->run(args);
  if (r.status.ok()) r.status = device.synchronize();
  r.out.resize(static_cast<size_t>(out_n));
  if (r.status.ok()) r.status = device.download(r.out.data(), *od, out_n * 4);
  device.release_all();
  return r;
}

TEST(CudaMovementTest, OutOfRangeIndicesGiveZeros) {
  KILN_OPEN_CUDA_DEVICE_OR_SKIP(device);
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};  // [3, 2]
  // take along axis 0: rows 2, -1 (= 2), 3 (out), -4 (out), 0.
  const std::string take_ir =
      "graph @g {\n  input %x : f32[3, 2]\n  input %i : i64[5]\n"
      "  %0 = take(%x, %i) {axis=0}\n  return %0\n}\n";
  IndexRun t = run_index_kernel(**device, take_ir, "cuda.take", x, {3, 2}, {2, -1, 3, -4, 0}, {5},
                                {5, 2});
  ASSERT_TRUE(t.status.ok()) << t.status.to_string();
  EXPECT_EQ(t.out, (std::vector<float>{5, 6, 5, 6, 0, 0, 0, 0, 1, 2}));
  // gather along axis 0: negative indices are out of range for gather.
  const std::string gather_ir =
      "graph @g {\n  input %x : f32[3, 2]\n  input %i : i64[2, 2]\n"
      "  %0 = gather(%x, %i) {axis=0}\n  return %0\n}\n";
  IndexRun h = run_index_kernel(**device, gather_ir, "cuda.gather", x, {3, 2}, {2, -1, 3, 0},
                                {2, 2}, {2, 2});
  ASSERT_TRUE(h.status.ok()) << h.status.to_string();
  EXPECT_EQ(h.out, (std::vector<float>{5, 0, 0, 2}));
}

}  // namespace
}  // namespace kiln::harness
