// The IR text lexer (internal to src/text). It turns bytes into tokens on demand, one at a time
// from a given offset, so that the parser can re-read the same bytes in another mode: inside a dim
// expression, after an operand, `//` is floor division and `%` is modulo; everywhere else `//`
// starts a comment and `%` starts a value name. Tokens point into the source text, which must
// outlive them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::text {

enum class TokenKind {
  kEof,
  kError,     // `error` says what is wrong
  kIdent,     // [A-Za-z_][A-Za-z0-9_.]*
  kValue,     // %name or %123 (text includes the '%')
  kGlobal,    // @name (text includes the '@')
  kInt,       // 123
  kFloat,     // 1.5, 1e-05, 2.5E+3
  kString,    // "..." with escapes (text includes the quotes; decode with decode_string)
  kLParen,    // (
  kRParen,    // )
  kLBracket,  // [
  kRBracket,  // ]
  kLBrace,    // {
  kRBrace,    // }
  kComma,     // ,
  kColon,     // :
  kEqual,     // =
  kPlus,      // +
  kMinus,     // -
  kStar,      // *
  kSlashSlash,  // // (only in LexMode::kDimOperator)
  kPercent,     // % (not followed by a name; always in LexMode::kDimOperator)
};

enum class LexMode {
  kNormal,       // `//` and `#` start comments, `%x` is a value
  kDimOperator,  // `#` starts a comment, `//` and `%` are operators
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string_view text;  // the token's bytes in the source
  size_t offset = 0;      // of the first byte
  size_t end = 0;         // one past the last byte
  std::string error;      // for kError
};

class Lexer {
 public:
  explicit Lexer(std::string_view source);

  // Skips whitespace and comments from `offset`, then reads one token.
  Token lex(size_t offset, LexMode mode) const;
  // 1-based line and column (in bytes) of an offset.
  int line_of(size_t offset) const;
  int column_of(size_t offset) const;

 private:
  std::string_view source_;
  std::vector<size_t> line_starts_;
};

// The contents of a kString token with escapes resolved (\" \\ \n \t \xHH), or false with `error`.
bool decode_string(std::string_view token_text, std::string* out, std::string* error);
// A short, quoted description of a token for "expected X, found Y" messages.
std::string describe_token(const Token& token);

}  // namespace kiln::text
