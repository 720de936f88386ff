// File surgery for engine-format tests: read the section table of a valid file, swap a section's
// bytes (re-laying the file and fixing size and checksum), patch integers. Test code only: it trusts
// its input, which always comes from write_engine.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../../../src/engine/byte_io.h"
#include "../../../src/engine/format.h"

namespace kiln::testing_engine {

struct SectionInfo {
  std::string name;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t alignment = 1;
};

template <typename T>
T load(const std::vector<uint8_t>& file, size_t at) {
  T v;
  std::memcpy(&v, file.data() + at, sizeof(T));
  return v;
}

template <typename T>
void store(std::vector<uint8_t>& file, size_t at, T v) {
  std::memcpy(file.data() + at, &v, sizeof(T));
}

inline void fix_checksum(std::vector<uint8_t>& file) {
  store<uint64_t>(file, engine_format::kChecksumOffset, engine_format::file_checksum(file));
}

inline std::vector<SectionInfo> sections_of(const std::vector<uint8_t>& file) {
  using namespace engine_format;
  std::vector<SectionInfo> out;
  uint32_t n = load<uint32_t>(file, 20);
  for (uint32_t i = 0; i < n; ++i) {
    size_t at = kHeaderSize + size_t(i) * kSectionEntrySize;
    SectionInfo s;
    s.name = std::string(reinterpret_cast<const char*>(file.data() + at));
    s.offset = load<uint64_t>(file, at + 16);
    s.size = load<uint64_t>(file, at + 24);
    s.alignment = load<uint32_t>(file, at + 32);
    out.push_back(s);
  }
  return out;
}

inline SectionInfo section(const std::vector<uint8_t>& file, const std::string& name) {
  for (const SectionInfo& s : sections_of(file)) {
    if (s.name == name) return s;
  }
  return {};
}

inline std::vector<uint8_t> section_bytes(const std::vector<uint8_t>& file, const std::string& name) {
  SectionInfo s = section(file, name);
  return std::vector<uint8_t>(file.begin() + s.offset, file.begin() + s.offset + s.size);
}

struct SectionBytes {
  std::string name;
  uint32_t alignment = 8;
  std::vector<uint8_t> bytes;
};

// A file with these sections, laid out as the writer does (header fields other than the section
// count, size and checksum copied from `like`).
inline std::vector<uint8_t> assemble(const std::vector<uint8_t>& like,
                                     const std::vector<SectionBytes>& sections) {
  using namespace engine_format;
  std::vector<uint8_t> out(like.begin(), like.begin() + kHeaderSize);
  store<uint32_t>(out, 20, static_cast<uint32_t>(sections.size()));
  out.resize(kHeaderSize + sections.size() * kSectionEntrySize, 0);
  for (size_t i = 0; i < sections.size(); ++i) {
    const SectionBytes& s = sections[i];
    while (out.size() % s.alignment != 0) out.push_back(0);
    size_t entry = kHeaderSize + i * kSectionEntrySize;
    std::memcpy(out.data() + entry, s.name.data(), s.name.size());
    store<uint64_t>(out, entry + 16, out.size());
    store<uint64_t>(out, entry + 24, s.bytes.size());
    store<uint32_t>(out, entry + 32, s.alignment);
    out.insert(out.end(), s.bytes.begin(), s.bytes.end());
  }
  store<uint64_t>(out, kFileSizeOffset, out.size());
  fix_checksum(out);
  return out;
}

// The file with some sections' contents replaced, and `extra` sections appended.
inline std::vector<uint8_t> with_sections(const std::vector<uint8_t>& file,
                                          const std::map<std::string, std::vector<uint8_t>>& repl,
                                          const std::vector<SectionBytes>& extra = {}) {
  std::vector<SectionBytes> sections;
  for (const SectionInfo& s : sections_of(file)) {
    auto it = repl.find(s.name);
    sections.push_back({s.name, s.alignment,
                        it != repl.end() ? it->second : section_bytes(file, s.name)});
  }
  sections.insert(sections.end(), extra.begin(), extra.end());
  return assemble(file, sections);
}

}  // namespace kiln::testing_engine
