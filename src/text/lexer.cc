// Tokenizer for the IR text format (docs/ir.md). Reads one token at a time from any offset and
// never reads past the end of the source. It does not know the grammar: keywords are identifiers,
// a leading '-' is its own token, and numbers are not converted here (the parser does that with
// std::from_chars, so that range errors are reported where the number is used).
#include "lexer.h"

#include <algorithm>

#include "kiln/support/status.h"

namespace kiln::text {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }

std::string printable_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

}  // namespace

Lexer::Lexer(std::string_view source) : source_(source) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source_.size(); ++i) {
    if (source_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

int Lexer::line_of(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<int>(it - line_starts_.begin());
}

int Lexer::column_of(size_t offset) const {
  size_t start = line_starts_[static_cast<size_t>(line_of(offset) - 1)];
  return static_cast<int>(offset - start) + 1;
}

Token Lexer::lex(size_t offset, LexMode mode) const {
  const size_t n = source_.size();
  size_t i = std::min(offset, n);
  // 1. Whitespace and comments.
  while (i < n) {
    char c = source_[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '#' || (mode == LexMode::kNormal && c == '/' && i + 1 < n &&
                            source_[i + 1] == '/')) {
      while (i < n && source_[i] != '\n') ++i;
    } else {
      break;
    }
  }
  Token tok;
  tok.offset = i;
  auto finish = [&](TokenKind kind, size_t end) {
    tok.kind = kind;
    tok.end = end;
    tok.text = source_.substr(i, end - i);
    return tok;
  };
  auto fail = [&](size_t end, std::string message) {
    tok.error = std::move(message);
    return finish(TokenKind::kError, end);
  };
  if (i >= n) return finish(TokenKind::kEof, n);

  // 2. The token.
  const char c = source_[i];
  auto ident_end = [&](size_t from) {
    while (from < n && is_ident_char(source_[from])) ++from;
    return from;
  };
  auto digits_end = [&](size_t from) {
    while (from < n && is_digit(source_[from])) ++from;
    return from;
  };
  if (is_ident_start(c)) return finish(TokenKind::kIdent, ident_end(i + 1));
  if (is_digit(c)) {
    size_t j = digits_end(i + 1);
    bool is_float = false;
    if (j + 1 < n && source_[j] == '.' && is_digit(source_[j + 1])) {
      j = digits_end(j + 1);
      is_float = true;
    }
    if (j < n && (source_[j] == 'e' || source_[j] == 'E')) {
      size_t k = j + 1;
      if (k < n && (source_[k] == '+' || source_[k] == '-')) ++k;
      if (k < n && is_digit(source_[k])) {
        j = digits_end(k);
        is_float = true;
      }
    }
    return finish(is_float ? TokenKind::kFloat : TokenKind::kInt, j);
  }
  switch (c) {
    case '%':
      if (mode == LexMode::kNormal && i + 1 < n) {
        char d = source_[i + 1];
        if (is_ident_start(d)) return finish(TokenKind::kValue, ident_end(i + 2));
        if (is_digit(d)) return finish(TokenKind::kValue, digits_end(i + 2));
      }
      return finish(TokenKind::kPercent, i + 1);
    case '@':
      if (i + 1 < n && is_ident_start(source_[i + 1])) {
        return finish(TokenKind::kGlobal, ident_end(i + 2));
      }
      return fail(i + 1, "expected a name after '@'");
    case '"': {
      size_t j = i + 1;
      while (j < n && source_[j] != '"' && source_[j] != '\n') {
        j += (source_[j] == '\\' && j + 1 < n && source_[j + 1] != '\n') ? 2 : 1;
      }
      if (j >= n || source_[j] != '"') return fail(j, "unterminated string");
      return finish(TokenKind::kString, j + 1);
    }
    case '(': return finish(TokenKind::kLParen, i + 1);
    case ')': return finish(TokenKind::kRParen, i + 1);
    case '[': return finish(TokenKind::kLBracket, i + 1);
    case ']': return finish(TokenKind::kRBracket, i + 1);
    case '{': return finish(TokenKind::kLBrace, i + 1);
    case '}': return finish(TokenKind::kRBrace, i + 1);
    case ',': return finish(TokenKind::kComma, i + 1);
    case ':': return finish(TokenKind::kColon, i + 1);
    case '=': return finish(TokenKind::kEqual, i + 1);
    case '+': return finish(TokenKind::kPlus, i + 1);
    case '-': return finish(TokenKind::kMinus, i + 1);
    case '*': return finish(TokenKind::kStar, i + 1);
    case '/':
      if (i + 1 < n && source_[i + 1] == '/') return finish(TokenKind::kSlashSlash, i + 2);
      return fail(i + 1, "unexpected '/' (floor division is written '//')");
    default: break;
  }
  return fail(i + 1, str_cat("unexpected character ", printable_char(c)));
}

bool decode_string(std::string_view text, std::string* out, std::string* error) {
  out->clear();
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    *error = "malformed string";
    return false;
  }
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 2 >= text.size()) {
      *error = "string ends inside an escape";
      return false;
    }
    char e = text[++i];
    switch (e) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case 'n': out->push_back('\n'); break;
      case 't': out->push_back('\t'); break;
      case 'x': {
        int hi = i + 1 < text.size() - 1 ? hex(text[i + 1]) : -1;
        int lo = i + 2 < text.size() - 1 ? hex(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *error = "expected two hex digits after '\\x'";
          return false;
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        *error = str_cat("unknown escape after '\\': ", printable_char(e));
        return false;
    }
  }
  return true;
}

std::string describe_token(const Token& token) {
  if (token.kind == TokenKind::kEof) return "end of input";
  if (token.kind == TokenKind::kError) return token.error;
  constexpr size_t kMax = 40;
  std::string text(token.text.substr(0, kMax));
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  return "'" + text + (token.text.size() > kMax ? "...'" : "'");
}

}  // namespace kiln::text
