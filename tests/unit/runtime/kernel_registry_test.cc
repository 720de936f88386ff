// The kernel registry (src/kernels/registry.cc), tested with the runtime that is its main reader.
#include <gtest/gtest.h>

#include <set>

#include "kiln/kernels/kernel.h"
#include "test_graphs.h"

namespace kiln {
namespace {

using testing::value_or_fail;

TEST(KernelRegistryTest, EveryOpHasAReferenceKernelNamedAfterIt) {
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind op = static_cast<OpKind>(i);
    std::vector<const Kernel*> cpu = kernels_for(op, DeviceKind::kCpu);
    ASSERT_FALSE(cpu.empty()) << op_name(op);
    const Kernel* ref = cpu.back();
    EXPECT_EQ(ref->name, str_cat("ref.", op_name(op)));
    EXPECT_EQ(ref->op, op);
    EXPECT_EQ(ref->device, DeviceKind::kCpu);
    EXPECT_EQ(ref->version, 1);
    EXPECT_EQ(find_kernel(ref->name), ref);
  }
  EXPECT_EQ(find_kernel("ref.no_such_op"), nullptr);
}

TEST(KernelRegistryTest, NamesAreUnique) {
  std::set<std::string_view> names;
  for (const Kernel& k : all_kernels()) EXPECT_TRUE(names.insert(k.name).second) << k.name;
  EXPECT_GE(names.size(), size_t(kNumOps));
}

TEST(KernelRegistryTest, DeviceNames) {
  EXPECT_EQ(device_name(DeviceKind::kCpu), "cpu");
  EXPECT_EQ(device_name(DeviceKind::kCuda), "cuda");
}

TEST(KernelRegistryTest, ReferenceKernelsAcceptWhatShapeInferenceAcceptsExceptF64) {
  const Kernel* add = find_kernel("ref.add");
  ASSERT_NE(add, nullptr);
  Node node{OpKind::kAdd, {0, 1}, {2}, NoAttrs{}, ""};
  std::string why;
  std::vector<TensorType> f32 = {{DType::kF32, {2, 3}}, {DType::kF32, {3}}};
  EXPECT_TRUE(add->accepts(node, f32, &why)) << why;
  std::vector<TensorType> f64 = {{DType::kF64, {2, 3}}, {DType::kF64, {3}}};
  EXPECT_FALSE(add->accepts(node, f64, &why));
  EXPECT_EQ(why, "input 0 is f64, which kiln kernels do not run");
  std::vector<TensorType> mismatched = {{DType::kF32, {2, 3}}, {DType::kF32, {4}}};
  why.clear();
  EXPECT_FALSE(add->accepts(node, mismatched, &why));
  EXPECT_FALSE(why.empty());

  const Kernel* cast = find_kernel("ref.cast");
  ASSERT_NE(cast, nullptr);
  Node to_f64{OpKind::kCast, {0}, {1}, CastAttrs{DType::kF64}, ""};
  std::vector<TensorType> one = {{DType::kF32, {2}}};
  EXPECT_FALSE(cast->accepts(to_f64, one, &why));
  EXPECT_EQ(why, "output 0 is f64, which kiln kernels do not run");
  Node to_f16{OpKind::kCast, {0}, {1}, CastAttrs{DType::kF16}, ""};
  EXPECT_TRUE(cast->accepts(to_f16, one, nullptr));
}

TEST(KernelRegistryTest, AbsentOptionalInputsAreIgnored) {
  const Kernel* linear = find_kernel("ref.linear");
  ASSERT_NE(linear, nullptr);
  Node with_bias{OpKind::kLinear, {0, 1, 2}, {3}, LinearAttrs{}, ""};
  Node without_bias{OpKind::kLinear, {0, 1, kNoValue}, {3}, LinearAttrs{}, ""};
  // The third type is garbage; it must not be looked at when the input is absent.
  std::vector<TensorType> types = {{DType::kF32, {5, 4}}, {DType::kF32, {3, 4}},
                                   {DType::kF64, {7, 7}}};
  std::string why;
  EXPECT_TRUE(linear->accepts(without_bias, types, &why)) << why;
  EXPECT_FALSE(linear->accepts(with_bias, types, &why));
}

}  // namespace
}  // namespace kiln
