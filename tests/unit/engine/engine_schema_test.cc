// Pins what the engine format depends on outside src/engine: every attribute struct's fields (names,
// order, types), the enum names stored as text and the dtype codes. If this test fails, an engine
// written before the change would be misread: bump kEngineFormatVersion (docs/engine_format.md §6),
// then paste the new schema below.
#include <gtest/gtest.h>

#include <string>

#include "../../../src/engine/format.h"
#include "kiln/engine/engine_file.h"

namespace kiln {
namespace {

std::string attrs_schema() {
  std::string out;
  auto fields = [&](const auto& attrs) {
    attrs.visit([&](std::string_view name, const auto& f) {
      using T = std::decay_t<decltype(f)>;
      out += str_cat(" ", name, ":", engine_format::field_tag_name(engine_format::field_tag<T>()));
      if constexpr (engine_format::NamedEnum<T>) {
        out += "{";
        for (std::string_view n : EnumNames<T>::kNames) out += str_cat(n, ",");
        out += "}";
      }
    });
  };
#define KILN_SCHEMA_ENTRY_(T) \
  out += #T;                  \
  fields(T{});                \
  out += "\n";
  KILN_ATTRS_LIST(KILN_SCHEMA_ENTRY_)
#undef KILN_SCHEMA_ENTRY_
  out += "dtypes:";
  for (int i = 0; i < kNumDTypes; ++i) out += str_cat(" ", i, "=", dtype_name(static_cast<DType>(i)));
  return out + "\n";
}

TEST(EngineSchemaTest, FormatVersion2Schema) {
  ASSERT_EQ(kEngineFormatVersion, 2u) << "a new version needs a new golden schema here";
  EXPECT_EQ(attrs_schema(), R"(ConstantAttrs dtype:dtype shape:i64 list data:tensor data
FullAttrs shape:shape value:f64 dtype:dtype
ArangeAttrs start:f64 step:f64 length:dim dtype:dtype
GeluAttrs approximate:enum{none,tanh,}
SoftplusAttrs beta:f64 threshold:f64
LeakyReluAttrs negative_slope:f64
EluAttrs alpha:f64
ClampAttrs min:optional f64 max:optional f64
CastAttrs to:dtype
DivAttrs rounding:enum{none,trunc,floor,}
ReduceAttrs axes:i64 list keepdim:bool
VarAttrs axes:i64 list keepdim:bool correction:f64
ArgReduceAttrs axis:i64 keepdim:bool
AxisAttrs axis:i64
AxesAttrs axes:i64 list
TopKAttrs k:i64 axis:i64 largest:bool
ConvAttrs stride:i64 list padding:i64 list dilation:i64 list groups:i64 activation:enum{none,relu,silu,gelu,gelu_tanh,} channels_last:bool
LinearAttrs activation:enum{none,relu,silu,gelu,gelu_tanh,}
ConvTransposeAttrs stride:i64 list padding:i64 list output_padding:i64 list dilation:i64 list groups:i64
BatchNormAttrs eps:f64
NormAttrs axis:i64 eps:f64
GroupNormAttrs groups:i64 eps:f64
AttentionAttrs is_causal:bool scale:optional f64 bshd:bool
PoolAttrs kernel:i64 list stride:i64 list padding:i64 list dilation:i64 list ceil_mode:bool count_include_pad:bool divisor_override:optional i64 channels_last:bool
AdaptivePoolAttrs output_size:i64 list
ResizeAttrs mode:enum{nearest,bilinear,} align_corners:bool size:shape scales:f64 list
ReshapeAttrs shape:shape
PermuteAttrs perm:i64 list
ExpandAttrs shape:shape
SliceAttrs axis:i64 start:dim end:dim step:i64
SplitAttrs axis:i64 sizes:shape
PadAttrs pads:i64 list mode:enum{constant,reflect,replicate,} value:f64
TileAttrs repeats:i64 list
RollAttrs shifts:i64 list axes:i64 list
TriluAttrs upper:bool diagonal:i64
dtypes: 0=f32 1=f16 2=bf16 3=i64 4=i32 5=i8 6=u8 7=bool 8=f64
)") << "the engine format's schema changed: bump kEngineFormatVersion (see the comment at the top)";
}

}  // namespace
}  // namespace kiln
