// Engine file format v1: the layout constants, the attribute field tags and the checksum, shared by
// the writer, the reader, their tests and the fuzzer. docs/engine_format.md is the specification;
// every number here appears there. Internal to src/engine and its tests: not a public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kiln/ir/attrs.h"

namespace kiln::engine_format {

inline constexpr uint8_t kMagic[8] = {'K', 'I', 'L', 'N', 'E', 'N', 'G', '\0'};
inline constexpr uint32_t kEndianMarker = 0x01020304;  // bytes 04 03 02 01 in a little-endian file
inline constexpr uint32_t kHeaderSize = 64;
inline constexpr size_t kFileSizeOffset = 24;  // header field offsets
inline constexpr size_t kChecksumOffset = 32;
inline constexpr size_t kReservedOffset = 40;

inline constexpr size_t kSectionNameSize = 16;
inline constexpr uint32_t kSectionEntrySize = 40;
inline constexpr uint32_t kMaxSections = 64;
inline constexpr uint32_t kMaxSectionAlignment = 4096;
inline constexpr uint32_t kMetadataAlignment = 8;  // meta, graph, kernels
inline constexpr uint32_t kWeightAlignment = 64;   // the weights section and each tensor in it

inline constexpr std::string_view kMetaSection = "meta";
inline constexpr std::string_view kGraphSection = "graph";
inline constexpr std::string_view kKernelsSection = "kernels";
inline constexpr std::string_view kWeightsSection = "weights";

inline constexpr std::string_view kFormatVersionKey = "format_version";
inline constexpr std::string_view kKilnVersionKey = "kiln_version";
inline constexpr std::string_view kDeviceKey = "device";

inline constexpr int kMaxDimDepth = 32;

// Dim atom kinds are DimAtom::Kind's values (0 symbol, 1 floordiv, 2 mod, 3 min, 4 max).
inline constexpr uint8_t kMaxAtomKind = 4;

// The type tag written before each attribute field.
enum class FieldTag : uint8_t {
  kI64 = 1,
  kF64 = 2,
  kBool = 3,
  kDType = 4,
  kEnum = 5,
  kI64List = 6,
  kF64List = 7,
  kDim = 8,
  kShape = 9,
  kOptionalF64 = 10,
  kOptionalI64 = 11,
  kTensorData = 12,
};

template <typename T>
inline constexpr bool kAlwaysFalse = false;

template <typename T>
concept NamedEnum = std::is_enum_v<T> && requires { EnumNames<T>::kNames; };

// The tag of an attribute field of C++ type T; a type outside the list does not compile.
template <typename T>
constexpr FieldTag field_tag() {
  if constexpr (std::is_same_v<T, int64_t>) return FieldTag::kI64;
  else if constexpr (std::is_same_v<T, double>) return FieldTag::kF64;
  else if constexpr (std::is_same_v<T, bool>) return FieldTag::kBool;
  else if constexpr (std::is_same_v<T, DType>) return FieldTag::kDType;
  else if constexpr (NamedEnum<T>) return FieldTag::kEnum;
  else if constexpr (std::is_same_v<T, std::vector<int64_t>>) return FieldTag::kI64List;
  else if constexpr (std::is_same_v<T, std::vector<double>>) return FieldTag::kF64List;
  else if constexpr (std::is_same_v<T, DimExpr>) return FieldTag::kDim;
  else if constexpr (std::is_same_v<T, std::vector<DimExpr>>) return FieldTag::kShape;
  else if constexpr (std::is_same_v<T, std::optional<double>>) return FieldTag::kOptionalF64;
  else if constexpr (std::is_same_v<T, std::optional<int64_t>>) return FieldTag::kOptionalI64;
  else if constexpr (std::is_same_v<T, TensorData>) return FieldTag::kTensorData;
  else static_assert(kAlwaysFalse<T>, "attribute field type has no engine encoding");
}

std::string_view field_tag_name(FieldTag tag);

// Counts the fields of an attribute struct: std::visit(counter, attrs), then counter.n. (Named
// functors rather than nested generic lambdas: clang 14 fails to emit member templates called from
// those.)
struct FieldCounter {
  uint32_t n = 0;
  template <typename A>
  void operator()(const A& attrs) {
    attrs.visit(*this);
  }
  template <typename T>
  void operator()(std::string_view, const T&) {
    ++n;
  }
};

// XXH64 (xxHash, seed as given) of `bytes`.
uint64_t xxh64(std::span<const uint8_t> bytes, uint64_t seed = 0);

// The checksum a header stores for this file: XXH64 of everything after the header. `file` must
// be at least kHeaderSize bytes.
inline uint64_t file_checksum(std::span<const uint8_t> file) {
  return xxh64(file.subspan(kHeaderSize));
}

}  // namespace kiln::engine_format
