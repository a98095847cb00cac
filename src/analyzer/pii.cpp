#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/core/base64.hpp"
#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

// The scanners report each match to a sink: detect_pii() counts, find_pii() keeps where.
struct CountingSink {
  PiiCounts counts{};
  void operator()(PiiKind kind, std::size_t, std::size_t) {
    ++counts[static_cast<std::size_t>(kind)];
  }
};

struct CollectingSink {
  std::vector<PiiMatch> matches;
  void operator()(PiiKind kind, std::size_t begin, std::size_t end) {
    matches.push_back({begin, end, kind});
  }
};

// Each place `needle` occurs in text, in order. Found by its first byte (memchr), then
// compared: needles here start with a byte that is rare in prose (' -', 'B', 'w'), where this is
// several times faster than memmem.
template <class Visit>
void for_each_occurrence(std::string_view text, std::string_view needle, Visit visit) {
  const char* end = text.data() + text.size();
  for (const char* at = text.data(); end - at >= static_cast<std::ptrdiff_t>(needle.size());) {
    at = static_cast<const char*>(
        std::memchr(at, needle.front(), static_cast<std::size_t>(end - at)));
    if (at == nullptr || end - at < static_cast<std::ptrdiff_t>(needle.size())) return;
    if (std::memcmp(at, needle.data(), needle.size()) == 0) {
      visit(static_cast<std::size_t>(at - text.data()));
    }
    ++at;
  }
}

bool is_non_ascii(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}
// Letters of two-byte UTF-8 count too: josé@, иван@, user@münchen.de, info@пример.рф. Not the
// three-byte scripts (CJK), whose text runs on without spaces and would join a whole sentence to
// an address; nor U+0080-00BF (no letters there).
bool is_two_byte_letter_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte >= 0x80 && byte <= 0xBF) || (byte >= 0xC3 && byte <= 0xDF);
}
bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}
bool is_email_local(char c) {
  return is_ascii_alnum(c) || is_two_byte_letter_byte(c) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-';
}
bool is_email_domain(char c) {
  return is_ascii_alnum(c) || is_two_byte_letter_byte(c) || c == '.' || c == '-';
}
bool is_tld_char(char c) {
  return is_ascii_alpha(c) || is_two_byte_letter_byte(c);
}

// Where the user info of the URL authority starting at `start` ends: its last '@' before the
// path, the query, a space or a quote (a password may hold '#' or '@': "app:Vf9#kL@db"); or
// start.
std::size_t user_info_end(std::string_view text, std::size_t start) {
  std::size_t last_at = start;
  for (std::size_t k = start; k < text.size() && k - start < 256; ++k) {
    const char c = text[k];
    // The path, the query, a space or a quote end it, and bytes RFC 3986 allows in no user info
    // ('|', '<', '>', braces, '\\', '^', '`') or a comma of prose
    // ("https://example.com,admin@example.org").
    if (std::string_view("/? \n\"'\t|<>{}\\^`,").find(c) != std::string_view::npos) break;
    if (c == '@') last_at = k;
  }
  return last_at;
}

// Whether the '@' at `at` ends the user info of a URL ("redis://:pw@host",
// "postgres://app:Vf9#kL@db"): a password, not an address. One in a URL's path
// ("https://x.com/team/jane@x.io") is an address.
bool ends_url_user_info(std::string_view text, std::size_t at) {
  constexpr std::size_t kLongestPrefix = 256;
  std::size_t start = at;
  while (start > 0 && at - start < kLongestPrefix && text[start - 1] != ' ' &&
         text[start - 1] != '\n' && text[start - 1] != '"') {
    --start;
  }
  const std::size_t scheme = text.substr(start, at - start).find("://");
  return scheme != std::string_view::npos && user_info_end(text, start + scheme + 3) == at;
}

bool is_image_extension(std::string_view tld) {
  static constexpr std::string_view kImages[] = {"png",  "jpg", "jpeg", "gif", "svg",
                                                 "webp", "ico", "bmp",  "avif"};
  std::string lower(tld);
  for (char& c : lower) c = ascii_lower(c);
  return std::find(std::begin(kImages), std::end(kImages), lower) != std::end(kImages);
}

// Whether the user@host at text[begin, end) is a login to a remote machine, not an address: a
// remote path follows it ("admin@backup.corp:/srv", "deploy@web:~/app"), or a remote shell or
// copy command comes right before it, past its options ("ssh deploy@prod-web-01.internal",
// "ssh -i key.pem -p 2222 ubuntu@ec2-3-91-20-11.compute-1.amazonaws.com").
bool remote_login(std::string_view text, std::size_t begin, std::size_t end) {
  if (end + 1 < text.size() && text[end] == ':' && (text[end + 1] == '/' || text[end + 1] == '~')) {
    return true;
  }
  static constexpr std::string_view kCommands[] = {"ssh",  "scp",         "sftp",  "rsync",
                                                   "mosh", "ssh-copy-id", "sshfs", "autossh"};
  constexpr std::size_t kLookback = 160;
  std::size_t k = begin;
  bool need_option = false;  // the word after this one is an option's value ("-i key.pem")
  while (k > 0 && begin - k < kLookback) {
    while (k > 0 && text[k - 1] == ' ') --k;
    const std::size_t word_end = k;
    while (k > 0 && begin - k < kLookback && text[k - 1] != ' ' && text[k - 1] != '\n' &&
           text[k - 1] != '`' && text[k - 1] != '$') {
      --k;
    }
    const std::string_view word = text.substr(k, word_end - k);
    if (word.empty()) return false;
    if (!need_option &&
        std::find(std::begin(kCommands), std::end(kCommands), word) != std::end(kCommands)) {
      return true;
    }
    // Options and their values may stand between the command and its target.
    if (word.front() == '-') {
      need_option = false;
    } else if (need_option) {
      return false;
    } else {
      need_option = true;
    }
  }
  return false;
}

constexpr std::size_t kLongestLocalPart = 64;
constexpr std::size_t kLongestDomain = 255;

// Addresses around `mark`: '@', or "%40" as a URL's query encodes it
// ("?email=jane.doe%40example.com").
template <class Sink>
void scan_emails(std::string_view text, Sink& sink, std::string_view mark = "@") {
  std::size_t from = 0;
  while (true) {
    const std::size_t at = text.find(mark, from);
    if (at == std::string_view::npos) return;
    from = at + 1;
    // At most the 64 bytes RFC 5321 allows a local part, and 255 a domain: a run of marks
    // ("%40%40...") costs linear time, not a walk back over the whole run from each.
    std::size_t begin = at;
    while (begin > 0 && at - begin < kLongestLocalPart && is_email_local(text[begin - 1])) --begin;
    while (begin < at && is_continuation(text[begin])) ++begin;  // the tail of a CJK character
    while (begin < at && text[begin] == '.') ++begin;  // "see.jane@x.io" keeps no leading dot
    const std::size_t domain_begin = at + mark.size();
    std::size_t end = domain_begin;
    while (end < text.size() && end - domain_begin < kLongestDomain && is_email_domain(text[end])) {
      ++end;
    }
    while (end > domain_begin && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    if (begin == at || end == domain_begin) continue;
    const std::string_view domain = text.substr(domain_begin, end - domain_begin);
    const std::size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || domain.front() == '-') continue;
    const std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), is_tld_char)) continue;
    // "logo@2x.png" is an image at twice the scale; "git@github.com" the SSH user of a remote.
    if (is_image_extension(tld) || text.substr(begin, at - begin) == "git") continue;
    if (mark == "@" && remote_login(text, begin, end)) continue;
    if (ends_url_user_info(text, at)) continue;  // redis://:pw@host: a password, not an address
    sink(PiiKind::email, begin, end);
    from = end;
  }
}

// How "at" or "dot" may be spelled out in an address written to dodge scrapers: the word between
// spaces or in brackets, with or without spaces around the brackets.
constexpr std::array<std::string_view, 7> kSpelledForms = {" # ", " [#] ", " (#) ", " {#} ",
                                                           "[#]", "(#)",   "{#}"};

// The length of `word` spelled out at text[pos] in one of kSpelledForms (case-insensitive), or 0.
std::size_t spelled_at(std::string_view text, std::size_t pos, std::string_view word) {
  for (const std::string_view form : kSpelledForms) {
    const std::size_t length = form.size() - 1 + word.size();
    if (pos + length > text.size()) continue;
    std::size_t k = 0;
    bool same = true;
    for (const char f : form) {
      if (f == '#') {
        for (const char w : word) same &= ascii_lower(text[pos + k++]) == w;
      } else {
        same &= text[pos + k++] == f;
      }
      if (!same) break;
    }
    if (same) return length;
  }
  return 0;
}

// The same, for a spelling that ends at text[end]: its start, or end.
std::size_t spelled_before(std::string_view text, std::size_t end, std::string_view word) {
  for (std::size_t length = word.size() + 2; length <= word.size() + 4 && length <= end; ++length) {
    if (spelled_at(text, end - length, word) == length) return end - length;
  }
  return end;
}

bool is_opening_bracket(char c) {
  return c == '[' || c == '(' || c == '{';
}

bool is_label_char(char c) {
  return is_ascii_alnum(c) || c == '-' || c == '_' || c == '+';
}

bool common_tld(std::string_view label) {
  static constexpr std::string_view kTlds[] = {
      "com", "org", "net", "edu",  "gov", "io", "co", "de", "uk", "fr", "es",
      "it",  "nl",  "ru",  "info", "biz", "me", "us", "ca", "au", "ch", "se",
      "no",  "dk",  "fi",  "pl",   "br",  "in", "jp", "eu", "mil"};
  std::string lower(label);
  for (char& c : lower) c = ascii_lower(c);
  return std::find(std::begin(kTlds), std::end(kTlds), lower) != std::end(kTlds);
}

// Whether a local part written before a plain " at " is an address's, not a word of prose
// ("She worked at Google dot com", "Shop at Etsy dot com" name sites): it holds a '.', a digit,
// '_' or '-', or a spelled-out dot ("firstname dot lastname at gmail dot com").
bool address_like_local(std::string_view local) {
  return local.find(" dot ") != std::string_view::npos ||
         std::any_of(local.begin(), local.end(),
                     [](char c) { return c == '.' || c == '_' || c == '-' || is_ascii_digit(c); });
}

// Whether text[k] begins "dot" (any case) or an opening bracket and "at".
bool spells_dot_or_bracketed_at(std::string_view text, std::size_t k) {
  if (k + 2 >= text.size() || ascii_lower(text[k + 2]) != 't') return false;
  const char next = ascii_lower(text[k + 1]);
  return (ascii_lower(text[k]) == 'd' && next == 'o') ||
         (is_opening_bracket(text[k]) && next == 'a');
}

bool is_hex_digit(char c) {
  return is_ascii_digit(c) || (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');
}

// Whether text[k + 1] is a ':' an IPv6 address could hold: between hex digits ("db8:85a3") or in
// a "::".
bool colon_of_ipv6_at(std::string_view text, std::size_t k) {
  if (k + 2 >= text.size() || text[k + 1] != ':') return false;
  return text[k + 2] == ':' || (is_hex_digit(text[k]) && is_hex_digit(text[k + 2]));
}

// Marks that scans for rare forms need before they are worth running: most prompts have none
// of them, and a search of its own for each (memmem, memchr) cost up to a microsecond per 4,000
// bytes.
enum RareMark : unsigned {
  kSpelledAddress = 1,  // "dot" (any case), or "at" right after an opening bracket
  kIpv6 = 2,            // a ':' between hex digits, or "::"
  kPasswordSaid = 4,    // "wor" (any case), as in "my password is"
  kFlag = 8,            // " -p", " -u", " --": a command line's options
  kBasic = 16,          // "asi" (any case), as in "Basic dXNl..."
  kDashes = 32,         // "---", as in "-----BEGIN CERTIFICATE-----"
  kAllMarks = 63,
};

unsigned rare_marks_at(std::string_view text, std::size_t k) {
  if (k + 2 >= text.size()) return 0;
  const char a = ascii_lower(text[k]);
  const char b = ascii_lower(text[k + 1]);
  const char c = ascii_lower(text[k + 2]);
  unsigned marks = 0;
  if (spells_dot_or_bracketed_at(text, k)) marks |= kSpelledAddress;
  if (colon_of_ipv6_at(text, k)) marks |= kIpv6;
  if (a == 'w' && b == 'o' && c == 'r') marks |= kPasswordSaid;
  if (a == ' ' && b == '-' && (c == 'p' || c == 'u' || c == '-')) marks |= kFlag;
  if (a == 'a' && b == 's' && c == 'i') marks |= kBasic;
  if (a == '-' && b == '-' && c == '-') marks |= kDashes;
  return marks;
}

// One pass, 16 positions per step where SSE2 is there (every x86-64).
unsigned find_rare_marks(std::string_view text) {
  unsigned marks = 0;
  std::size_t k = 0;
#if defined(__SSE2__)
  // With the case bit set, '[' reads as '{' and capitals as their lower case (' ', '-', ':'
  // and digits keep theirs).
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const auto load = [&](std::size_t at) {
    return _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at)),
                        case_bit);
  };
  const auto is = [](__m128i bytes, char c) { return _mm_cmpeq_epi8(bytes, _mm_set1_epi8(c)); };
  const auto within = [](__m128i bytes, char low, char high) {
    return _mm_and_si128(_mm_cmpgt_epi8(bytes, _mm_set1_epi8(static_cast<char>(low - 1))),
                         _mm_cmplt_epi8(bytes, _mm_set1_epi8(static_cast<char>(high + 1))));
  };
  const auto hex = [&](__m128i bytes) {
    return _mm_or_si128(within(bytes, '0', '9'), within(bytes, 'a', 'f'));
  };
  const auto any = [](__m128i found) { return _mm_movemask_epi8(found) != 0; };
  for (; k + 18 <= text.size() && marks != kAllMarks; k += 16) {
    const __m128i first = load(k);
    const __m128i second = load(k + 1);
    const __m128i third = load(k + 2);
    const __m128i dot = _mm_and_si128(is(first, 'd'), is(second, 'o'));
    const __m128i bracket = _mm_or_si128(is(first, '{'), is(first, '('));
    const __m128i at = _mm_and_si128(bracket, is(second, 'a'));
    if (any(_mm_and_si128(_mm_or_si128(dot, at), is(third, 't')))) marks |= kSpelledAddress;
    const __m128i between_hex = _mm_and_si128(hex(first), hex(third));
    if (any(_mm_and_si128(is(second, ':'), _mm_or_si128(is(third, ':'), between_hex)))) {
      marks |= kIpv6;
    }
    if (any(_mm_and_si128(_mm_and_si128(is(first, 'w'), is(second, 'o')), is(third, 'r')))) {
      marks |= kPasswordSaid;
    }
    const __m128i flag_letter =
        _mm_or_si128(_mm_or_si128(is(third, 'p'), is(third, 'u')), is(third, '-'));
    if (any(_mm_and_si128(_mm_and_si128(is(first, ' '), is(second, '-')), flag_letter))) {
      marks |= kFlag;
    }
    if (any(_mm_and_si128(_mm_and_si128(is(first, 'a'), is(second, 's')), is(third, 'i')))) {
      marks |= kBasic;
    }
    if (any(_mm_and_si128(_mm_and_si128(is(first, '-'), is(second, '-')), is(third, '-')))) {
      marks |= kDashes;
    }
  }
#endif
  for (; k < text.size() && marks != kAllMarks; ++k) marks |= rare_marks_at(text, k);
  return marks;
}

// "jane dot doe at example dot com", "jane[at]example[dot]com", "jane (at) example.com": an
// address spelled out. Written with a plain " at ", the domain needs a spelled-out dot too ("I
// work at example.com" names a site) and the word before it must not be prose.
template <class Sink>
void scan_spelled_emails(std::string_view text, Sink& sink) {
  for (std::size_t pos = 0; pos + 4 < text.size(); ++pos) {
    const char c = text[pos];
    const char next = text[pos + 1];
    const bool plain = c == ' ' && (next == 'a' || next == 'A');
    if (!plain && !is_opening_bracket(c) && !(c == ' ' && is_opening_bracket(next))) continue;
    const std::size_t marker = spelled_at(text, pos, "at");
    if (marker == 0) continue;
    // The local part, read backwards over its words and spelled dots.
    std::size_t begin = pos;
    for (;;) {
      std::size_t word = begin;
      while (word > 0 && (is_label_char(text[word - 1]) || text[word - 1] == '.')) --word;
      if (word == begin) break;
      begin = word;
      const std::size_t dot = spelled_before(text, begin, "dot");
      if (dot == begin) break;
      begin = dot;
    }
    while (begin < pos && !is_label_char(text[begin])) ++begin;  // no separator first
    // ("ACCOUNTS AT BRIGHTLINE DOT IO": an "AT" in capitals is written so on purpose.)
    const bool shouted = plain && text[pos + 1] == 'A' && text[pos + 2] == 'T';
    if (begin == pos ||
        (plain && !shouted && !address_like_local(text.substr(begin, pos - begin)))) {
      continue;
    }
    // The domain: labels joined by spelled or written dots, ending in a common TLD.
    std::size_t end = pos + marker;
    std::size_t last_label = end;
    std::size_t domain_end = end;
    int labels = 0;
    bool spelled_dot = false;
    for (;;) {
      std::size_t label_end = end;
      while (label_end < text.size() &&
             (is_ascii_alnum(text[label_end]) ||
              (text[label_end] == '-' && label_end > end && label_end + 1 < text.size() &&
               is_ascii_alnum(text[label_end + 1])))) {
        ++label_end;
      }
      if (label_end == end) break;
      last_label = end;
      end = domain_end = label_end;
      ++labels;
      if (end + 1 < text.size() && text[end] == '.' && is_ascii_alnum(text[end + 1])) {
        ++end;
      } else if (const std::size_t dot = spelled_at(text, end, "dot"); dot != 0) {
        spelled_dot = true;
        end += dot;
      } else {
        break;
      }
    }
    if (labels < 2 || (plain && !spelled_dot) ||
        !common_tld(text.substr(last_label, domain_end - last_label))) {
      continue;
    }
    sink(PiiKind::email, begin, domain_end);
    pos = domain_end;
  }
}

// Longer than any number of a kind the scan reports as a whole (a spaced card, an international
// phone number in parentheses and dashes).
constexpr std::size_t kLongestNumber = 64;

// A run of digits with the separators phone numbers, cards and addresses use. Kept on the stack:
// every check needs at most 19 digits and 4 groups, so longer runs keep only their counts.
struct NumberChunk {
  static constexpr std::size_t kKeptDigits = 24;
  static constexpr std::size_t kKeptGroups = 8;
  std::string_view text;
  std::array<char, kKeptDigits> digit_bytes{};
  std::size_t digit_count = 0;  // all of them, kept or not
  std::array<int, kKeptGroups> group_sizes{};
  int groups = 0;  // all of them, kept or not
  int last_group = 0;
  int previous_group = 0;
  bool plus = false;
  bool parens = false;
  bool only_dots = true;        // every separator is '.'
  bool only_dashes = true;      // every separator is '-'
  bool card_separators = true;  // only ' ' and '-'

  // The digits, complete whenever digit_count <= kKeptDigits.
  std::string_view digits() const {
    return {digit_bytes.data(), std::min(digit_count, kKeptDigits)};
  }
  void add_digit(char c) {
    if (digit_count < kKeptDigits) digit_bytes[digit_count] = c;
    ++digit_count;
  }
  void end_group(int size) {
    if (static_cast<std::size_t>(groups) < kKeptGroups) {
      group_sizes[static_cast<std::size_t>(groups)] = size;
    }
    ++groups;
    previous_group = last_group;
    last_group = size;
  }
};

bool is_number_separator(char c) {
  return c == ' ' || c == '-' || c == '.';
}

// The length of a country code written in parentheses at text[i] ("(+44)", "(+1)"), or 0.
std::size_t country_code_in_parens(std::string_view text, std::size_t i) {
  if (text.substr(i, 2) != "(+") return 0;
  std::size_t k = i + 2;
  while (k < text.size() && k < i + 5 && is_ascii_digit(text[k])) ++k;
  return k > i + 2 && k < text.size() && text[k] == ')' ? k + 1 - i : 0;
}

// Reads a chunk starting at text[i] (a digit, '+' or '('); returns the index after it.
std::size_t read_chunk(std::string_view text, std::size_t i, NumberChunk& chunk) {
  const std::size_t begin = i;
  if (const std::size_t code = country_code_in_parens(text, i); code != 0) {
    chunk.plus = chunk.parens = true;  // "(+44) 20 7946 0958"
    chunk.only_dots = chunk.only_dashes = chunk.card_separators = false;
    for (const char c : text.substr(i + 2, code - 3)) chunk.add_digit(c);
    chunk.end_group(static_cast<int>(code - 3));
    i += code;
    if (i + 1 < text.size() && text[i] == ' ' && is_ascii_digit(text[i + 1])) ++i;
  } else if (text[i] == '+') {
    chunk.plus = true;
    ++i;
  }
  int group = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_ascii_digit(c)) {
      chunk.add_digit(c);
      ++group;
      ++i;
      continue;
    }
    if (group > 0) {
      chunk.end_group(group);
      group = 0;
    }
    const bool open = c == '(' && i + 1 < text.size() && is_ascii_digit(text[i + 1]);
    const bool close = c == ')' && chunk.parens;
    if (open || close) {
      chunk.parens = true;
      chunk.only_dots = chunk.only_dashes = chunk.card_separators = false;
      ++i;
      if (close && i < text.size() && text[i] == ' ') ++i;
      continue;
    }
    // A separator counts only when a digit (or a parenthesized area code) follows it directly;
    // spaces may come in a run ("4111  1111"; not tabs, which part columns).
    std::size_t after = i + 1;
    if (c == ' ') {
      while (after < text.size() && after < i + 4 && text[after] == ' ') ++after;
    }
    const bool digit_follows =
        after < text.size() &&
        (is_ascii_digit(text[after]) ||
         (text[after] == '(' && after + 1 < text.size() && is_ascii_digit(text[after + 1])));
    if (is_number_separator(c) && digit_follows && chunk.digit_count > 0) {
      chunk.only_dots &= c == '.';
      chunk.only_dashes &= c == '-';
      chunk.card_separators &= c != '.';
      i = after;
      continue;
    }
    break;
  }
  if (group > 0) chunk.end_group(group);
  chunk.text = text.substr(begin, i - begin);
  return i;
}

// Four dotted octets; not the loopback (127.x) or unspecified (0.0.0.0) address, which are no
// one's ("proxy_pass http://127.0.0.1:3000").
bool is_ipv4(const NumberChunk& chunk) {
  if (!chunk.only_dots || chunk.plus || chunk.groups != 4) return false;
  if (chunk.digits().starts_with("127") && chunk.group_sizes[0] == 3) return false;
  if (chunk.digits() == "0000") return false;
  const std::string_view digits = chunk.digits();
  std::size_t pos = 0;
  for (int g = 0; g < 4; ++g) {
    const auto size = static_cast<std::size_t>(chunk.group_sizes[static_cast<std::size_t>(g)]);
    if (size > 3) return false;
    int octet = 0;
    for (std::size_t k = 0; k < size; ++k) octet = octet * 10 + (digits[pos + k] - '0');
    if (octet > 255) return false;
    pos += size;
  }
  return true;
}

// Nine digits the SSA could have issued: no area 000, 666 or 9xx, no group 00, no serial 0000.
bool ssn_digits_valid(std::string_view d) {
  const std::string_view area = d.substr(0, 3);
  return area != "000" && area != "666" && area[0] != '9' && d.substr(3, 2) != "00" &&
         d.substr(5, 4) != "0000";
}

bool ssn_groups(const NumberChunk& chunk) {
  return chunk.groups == 3 && chunk.group_sizes[0] == 3 && chunk.group_sizes[1] == 2 &&
         chunk.group_sizes[2] == 4;
}

bool is_us_ssn(const NumberChunk& chunk) {
  return chunk.only_dashes && ssn_groups(chunk) && ssn_digits_valid(chunk.digits());
}

// "123456789" or "123 45 6789": an SSN only where the text names one just before it.
bool is_undashed_ssn(const NumberChunk& chunk) {
  if (chunk.plus || chunk.parens || chunk.digit_count != 9) return false;
  return (chunk.groups == 1 || ssn_groups(chunk)) && ssn_digits_valid(chunk.digits());
}

// "SSN", "social security" or "my social" in the 40 bytes before i ("my SSN is", "Social
// Security no.:", "my social is"; not "social media").
bool ssn_named_before(std::string_view text, std::size_t i) {
  constexpr std::size_t kWindow = 40;
  std::string before(text.substr(i > kWindow ? i - kWindow : 0, std::min(i, kWindow)));
  for (char& c : before) c = ascii_lower(c);
  return before.find("ssn") != std::string::npos ||
         before.find("social security") != std::string::npos ||
         before.find("my social") != std::string::npos;
}

// Whether the '.' at `dot` ends "no", "nr" or "num" ("account no. 4532"), not a sentence.
bool abbreviation_before(std::string_view text, std::size_t dot) {
  std::size_t begin = dot;
  while (begin > 0 && is_ascii_alpha(text[begin - 1]) && dot - begin < 3) --begin;
  if (begin > 0 && is_ascii_alpha(text[begin - 1])) return false;
  std::string word(text.substr(begin, dot - begin));
  for (char& c : word) c = ascii_lower(c);
  return word == "no" || word == "nr" || word == "num";
}

// Where the word right before position i (over spaces, ':', '#' and the '.' of "no.") begins;
// at most 12 letters.
std::size_t word_start_before(std::string_view text, std::size_t i) {
  std::size_t end = i;
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == ':' || text[end - 1] == '#' ||
                     text[end - 1] == '"' || text[end - 1] == '=' || text[end - 1] == '_' ||
                     (text[end - 1] == '.' && abbreviation_before(text, end - 1)))) {
    --end;
  }
  std::size_t begin = end;
  while (begin > 0 && is_ascii_alpha(text[begin - 1]) && end - begin < 12) --begin;
  return begin;
}

// The word right before position i, lower-cased.
std::string word_before(std::string_view text, std::size_t i) {
  const std::size_t begin = word_start_before(text, i);
  std::size_t end = begin;
  while (end < i && is_ascii_alpha(text[end])) ++end;
  std::string word(text.substr(begin, end - begin));
  for (char& c : word) c = ascii_lower(c);
  return word;
}

// The word right before position i names a version ("version 1.2.3.4", "Build 10.0.19041.1",
// "the plugin 2.3.1.4"): four dotted numbers there are no address.
bool version_named_before(std::string_view text, std::size_t i) {
  const std::string word = word_before(text, i);
  static constexpr std::string_view kVersionWords[] = {
      "version", "versions", "ver",       "release", "build", "firmware", "v",       "plugin",
      "package", "library",  "module",    "driver",  "patch", "sdk",      "section", "clause",
      "chapter", "article",  "paragraph", "oid",     "step",  "figure",   "table",   "appendix"};
  if (std::find(std::begin(kVersionWords), std::end(kVersionWords), word) !=
      std::end(kVersionWords)) {
    return true;
  }
  // "the NuGet package from 6.0.0.1 to 8.0.2.0": a move between versions a word names.
  if (word == "from" || word == "to") {
    constexpr std::size_t kWindow = 48;
    const std::size_t from = i > kWindow ? i - kWindow : 0;
    for (std::size_t k = from; k < i;) {
      if (!is_ascii_alpha(text[k])) {
        ++k;
        continue;
      }
      const std::size_t begin = k;
      while (k < i && is_ascii_alpha(text[k])) ++k;
      if (begin == from && from > 0 && is_ascii_alpha(text[from - 1])) continue;  // a cut word
      std::string candidate(text.substr(begin, k - begin));
      for (char& c : candidate) c = ascii_lower(c);
      if (candidate == "version" || candidate == "package" || candidate == "release" ||
          candidate == "firmware" || candidate == "sdk" || candidate == "dependency") {
        return true;
      }
    }
  }
  // A product's name written in mixed case ("cuDNN 8.9.7.29", "TensorRT 8.6.1.6").
  const std::size_t begin = word_start_before(text, i);
  std::size_t end = begin;
  while (end < i && is_ascii_alpha(text[end])) ++end;
  const std::string_view name = text.substr(begin, end - begin);
  return name.size() >= 3 && std::any_of(name.begin() + 1, name.end(), is_ascii_upper) &&
         std::any_of(name.begin(), name.end(), is_ascii_lower);
}

// The number at i is named as a record's id, not a card ("order id 4532...", "tracking number
// 1Z...", "policy no. ...", "SKU 4006...", {"id": 4101...}): a 16-digit id passes the Luhn
// check one time in ten. A record's "number" or "no." names an id, as does any "id" but a
// card's; a card's number, or a number named by nothing else, is a card.
bool record_id_named_before(std::string_view text, std::size_t i) {
  std::size_t at = i;
  std::string word = word_before(text, at);
  const auto step_back = [&] {
    at = word_start_before(text, at);
    word = word_before(text, at);
  };
  const auto in = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
  };
  if (word == "is" || word == "was") step_back();  // "my order number is 4532..."
  static constexpr std::string_view kCardWords[] = {
      "card", "credit", "debit", "visa", "amex", "mastercard", "cc", "payment", "pan"};
  // {"id": 4101...}, "customer id ...": an id unless a card's.
  if (word == "id") {
    step_back();
    return !in(kCardWords);
  }
  // Records named by their name alone ("order 4532...", "SKU 4006...").
  static constexpr std::string_view kRecords[] = {
      "order",       "tracking", "invoice", "ticket",  "shipment", "parcel",      "confirmation",
      "reservation", "booking",  "receipt", "case",    "serial",   "transaction", "po",
      "policy",      "claim",    "voucher", "sku",     "batch",    "contract",    "imei",
      "ean",         "gtin",     "upc",     "barcode", "isbn",     "lot",         "ref"};
  // ... and those named only with their number ("account number", "part no.").
  static constexpr std::string_view kNumberedOnly[] = {"account",    "customer",  "member",
                                                       "membership", "reference", "part",
                                                       "model",      "loyalty",   "gift"};
  // "policy number", "contract no.": a record's number; "card number", "the number: 4111...",
  // "charge this number" stay cards.
  if (word == "number" || word == "no" || word == "nr" || word == "num") {
    step_back();
    return in(kRecords) || in(kNumberedOnly);
  }
  // "loyalty card 4111...", "gift card ...": a card that is no payment card.
  static constexpr std::string_view kOtherCards[] = {"loyalty", "gift",    "membership", "member",
                                                     "library", "rewards", "club",       "sim"};
  if (word == "card") {
    step_back();
    return in(kOtherCards);
  }
  return in(kRecords);
}

// A number a card network issues: its prefix (IIN) and length fit a brand. Without this, one
// 16-digit id in ten passes the Luhn check.
bool card_brand_fits(std::string_view d) {
  const std::size_t n = d.size();
  const auto prefix = [&](std::size_t k) {
    int value = 0;
    for (std::size_t i = 0; i < k; ++i) value = value * 10 + (d[i] - '0');
    return value;
  };
  const int two = prefix(2);
  const int four = prefix(4);
  switch (d[0]) {
    case '2':  // Mastercard 2221-2720, Mir 2200-2204
      return (four >= 2221 && four <= 2720 && n == 16) || (four >= 2200 && four <= 2204 && n >= 16);
    case '3':  // Amex 34/37, Diners 30/36/38/39, JCB 3528-3589
      if (two == 34 || two == 37) return n == 15;
      if (two == 30 || two == 36 || two == 38 || two == 39) return n >= 14;
      return four >= 3528 && four <= 3589 && n >= 16;
    case '4':  // Visa
      return n == 13 || n == 16 || n == 19;
    case '5':  // Mastercard 51-55; Maestro 50, 56-59 (a 13-digit EAN barcode is no card)
      if (two >= 51 && two <= 55) return n == 16;
      return n >= 16;
    case '6':  // Discover, UnionPay, Maestro, RuPay
      return n >= 16;
    case '8':  // RuPay 81, 82
      return (two == 81 || two == 82) && n == 16;
    case '9':  // Troy
      return four == 9792 && n == 16;
    default:
      return false;
  }
}

// "4111.1111.1111.1111": four groups of four joined by dots, as some people write a card (never a
// version or an address, which have shorter groups).
bool dotted_card_groups(const NumberChunk& chunk) {
  return chunk.only_dots && chunk.groups == 4 && chunk.digit_count == 16 &&
         std::all_of(chunk.group_sizes.begin(), chunk.group_sizes.begin() + 4,
                     [](int size) { return size == 4; });
}

// "card", "visa", "credit", "debit" or "cc" in the 40 bytes before i.
bool card_named_before(std::string_view text, std::size_t i) {
  constexpr std::size_t kWindow = 40;
  std::string before(text.substr(i > kWindow ? i - kWindow : 0, std::min(i, kWindow)));
  for (char& c : before) c = ascii_lower(c);
  for (const std::string_view word : {"card", "visa", "credit", "debit", "cc"}) {
    if (before.find(word) != std::string::npos) return true;
  }
  return false;
}

bool is_credit_card(const NumberChunk& chunk) {
  const std::size_t n = chunk.digit_count;
  if (n < 13 || n > 19 || chunk.plus) return false;
  if (!chunk.card_separators && !dotted_card_groups(chunk)) return false;
  const std::string_view digits = chunk.digits();
  return card_brand_fits(digits) && luhn_valid(digits);
}

// Most countries outside North America dial national numbers with a leading 0 and group them
// from an area or mobile code of 2-5 digits: 07700 900123, 020 7946 0958, 06 12 34 56 78,
// 030 1234567, 0151 23456789, (02) 9876 5432. Every group has 2+ digits, separated by spaces or
// dashes (not dots: versions), the area code alone in parentheses if any.
bool national_with_trunk_prefix(const NumberChunk& chunk) {
  const bool area_in_parens = chunk.parens && chunk.text.starts_with("(0") &&
                              chunk.text.find('.') == std::string_view::npos;
  if (chunk.groups < 2 || chunk.only_dots || (!chunk.card_separators && !area_in_parens)) {
    return false;
  }
  if (chunk.digits().front() != '0' || chunk.digits()[1] == '0') return false;
  const auto kept =
      std::min<std::size_t>(static_cast<std::size_t>(chunk.groups), NumberChunk::kKeptGroups);
  // (An Indian number may open with 6: "098765 43210".)
  const bool indian_halves =
      chunk.groups == 2 && chunk.group_sizes[0] == 6 && chunk.group_sizes[1] == 5;
  if (chunk.group_sizes[0] < 2 || (chunk.group_sizes[0] > 5 && !indian_halves)) return false;
  bool pairs = true;
  for (std::size_t g = 0; g < kept; ++g) {
    if (chunk.group_sizes[g] < 2) return false;
    pairs &= g == 0 || chunk.group_sizes[g] == 2;
  }
  // The subscriber part ends in 4+ digits, or the number is written in pairs (06 12 34 56 78),
  // or it is an Australian mobile (0412 345 678): part numbers and drug codes ("0258 006 028",
  // "0777-3105-02") end otherwise.
  const bool australian_mobile = chunk.groups == 3 && chunk.group_sizes[0] == 4 &&
                                 chunk.group_sizes[1] == 3 && chunk.group_sizes[2] == 3 &&
                                 chunk.digits().starts_with("04");
  // (A British number opens with 5 digits: "07700 900 123".)
  return chunk.last_group >= 4 || pairs || australian_mobile || chunk.group_sizes[0] == 5;
}

// "0049 30 1234567", "00 44 20 7946 0958": the international call prefix most countries dial
// instead of '+', then 8-15 digits in groups.
bool dialed_with_international_prefix(const NumberChunk& chunk) {
  const std::size_t n = chunk.digit_count;
  if (chunk.groups < 2 || !chunk.card_separators || n < 10 || n > 17 || chunk.last_group < 3) {
    return false;
  }
  const std::string_view d = chunk.digits();
  if (!d.starts_with("00")) return false;
  // The country code after it: 1 or 7 alone, else 2-3 digits not starting with 0 or 1.
  switch (chunk.group_sizes[0]) {
    case 2:  // "00 44 20 ..."
      return chunk.group_sizes[1] <= 3 && d[2] != '0';
    case 3:  // "001 212 ..."
      return d[2] == '1' || d[2] == '7';
    case 4:  // "0049 30 ..."
    case 5:  // "00351 21 ..."
      return d[2] >= '2';
    default:
      return false;
  }
}

bool is_phone(const NumberChunk& chunk) {
  const std::size_t n = chunk.digit_count;
  // "+37.7749295" (a coordinate, a signed decimal) is a number, not a phone.
  if (chunk.plus && chunk.only_dots && chunk.groups == 2) return false;
  // North America (+1) and Russia (+7) dial 10 digits after the country code ("+18234567
  // users" is a count).
  if (chunk.plus && (chunk.digits().front() == '1' || chunk.digits().front() == '7'))
    return n == 11;
  if (chunk.plus) return n >= 8 && n <= 15;
  if (dialed_with_international_prefix(chunk)) return true;
  // National formats need structure: (415) 555-2671, 415-555-2671, 415.555.2671, 1 415 555 2671.
  // Bare digit runs (timestamps, ids), years and prices never have it.
  if (n < 10 || n > 12) return false;
  if (n <= 11 && chunk.groups >= 3 && chunk.last_group == 4 && chunk.previous_group == 3) {
    return true;
  }
  // Brazil: a 2-digit area code in parentheses, then 4 or 5 digits, a dash and 4: (11) 98765-4321.
  if (chunk.groups == 3 && chunk.text.starts_with('(') && chunk.group_sizes[0] == 2 &&
      chunk.last_group == 4 && (chunk.previous_group == 4 || chunk.previous_group == 5) &&
      chunk.text[chunk.text.size() - 5] == '-') {
    return true;
  }
  return national_with_trunk_prefix(chunk);
}

// Whether a phone word names the number at i: a noun for a phone ("Tel: ", "mobile ",
// "WhatsApp: ") or a verb ("call 9876543210", "text us on", "me liga no"), followed
// only by words that lead to a number ("my mobile number is", "móvil es"). Any other word
// between ("the API call returned 2034567891", "mobile revenue 3400000000") says the number
// counts something else.
bool phone_named_before(std::string_view text, std::size_t i) {
  static constexpr std::string_view kNouns[] = {
      "phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "ph", "fax", "whatsapp",
      "móvil", "movil", "teléfono", "telefono", "telefon", "handy", "portable", "cellulare",
      "celular", "telefone", "téléphone", "hotline", "helpline", "telefonnummer", "handynummer",
      "tél", "tlf", "mob",
      // Other scripts (capitalized Cyrillic too: only ASCII is lowered here).
      "телефон", "Телефон", "тел", "Тел", "мобильный", "Мобильный", "моб", "телефона", "هاتف",
      "الهاتف", "جوال", "الجوال", "موبايل", "טלפון", "הטלפון", "נייד", "फ़ोन", "फ़ोन", "फोन",
      "मोबाइल", "thoại", "telefonu", "telefoon", "mobiel", "telepon", "τηλέφωνο", "τηλ", "κινητό"};
  // Scripts written without spaces, or with particles joined to the noun: the word before a
  // number is a whole run ("我的电话是", "전화번호는"), so these are looked for inside it.
  static constexpr std::string_view kJoinedNouns[] = {"电话",   "電話",     "手机",     "手機",
                                                      "携帯",   "ケータイ", "联系方式", "전화",
                                                      "휴대폰", "핸드폰",   "연락처"};
  static constexpr std::string_view kVerbs[] = {
      "call",    "text",    "dial",    "sms",      "ring",   "reach",   "contact",
      "liga",    "ligue",   "llámame", "llama",    "llamar", "ruf",     "anrufen",
      "appelle", "appelez", "chiama",  "chiamami", "chame",  "escribe", "whatsapp"};
  static constexpr std::string_view kObjectFirst[] = {"reach", "contact"};  // need "me at"
  static constexpr std::string_view kLeads[] = {
      "me",       "us",       "at",      "on",    "to",      "is",         "number",  "numbers",
      "no",       "nr",       "num",     "my",    "our",     "his",        "her",     "their",
      "the",      "via",      "or",      "o",     "ou",      "es",         "est",     "ist",
      "lautet",   "el",       "le",      "la",    "de",      "del",        "do",      "da",
      "mi",       "mio",      "mon",     "ma",    "meu",     "minha",      "mein",    "meine",
      "mich",     "moi",      "an",      "a",     "al",      "please",     "back",    "later",
      "today",    "tomorrow", "tonight", "now",   "anytime", "directly",   "nummer",  "número",
      "numero",   "numéro",   "office",  "home",  "work",    "direct",     "private", "personal",
      "business", "main",     "line",    "номер", "мой",     "мобильного", "رقم",     "هو",
      "שלי",      "מספר",     "मेरा",     "नंबर",   "है",       "số",         "của",     "tôi",
      "là",       "numarası", "numaram"};
  const auto in = [](const auto& list, std::string_view word) {
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
  };
  const auto letter = [](char c) {
    return is_ascii_alpha(c) || static_cast<unsigned char>(c) >= 0x80;
  };
  constexpr std::size_t kWindow = 64;
  constexpr int kMostWords = 6;
  std::size_t k = i;
  bool led = false;  // a lead word stands between the word and the number
  for (int words = 0; words < kMostWords && k > 0 && i - k < kWindow; ++words) {
    while (k > 0 && i - k < kWindow &&
           std::string_view(" \t\n:.,-()/#").find(text[k - 1]) != std::string_view::npos) {
      --k;
    }
    const std::size_t end = k;
    while (k > 0 && i - k < kWindow && letter(text[k - 1])) --k;
    if (k == end) return false;  // a digit, a quote, a bracket: not a lead to this number
    std::string word(text.substr(k, end - k));
    for (char& c : word) c = ascii_lower(c);
    // "call 9876543210", "reach me at ...": "reach 1000000000 users" is a count.
    if (in(kNouns, word) || (in(kVerbs, word) && (led || !in(kObjectFirst, word)))) return true;
    if (std::any_of(std::begin(kJoinedNouns), std::end(kJoinedNouns),
                    [&](std::string_view noun) { return word.find(noun) != std::string::npos; })) {
      return true;
    }
    if (!in(kLeads, word)) return false;
    led = true;
  }
  return false;
}

// A number a phone word names: 9-12 digits in groups of 2 or more, or alone; alone, 9 or 10
// digits open with 2-9 (a Unix time opens with 1), or with a trunk 0 (up to 11), or 11 with 1.
bool named_phone(const NumberChunk& chunk) {
  const std::size_t n = chunk.digit_count;
  const bool dotted = chunk.groups > 1 && chunk.only_dots;  // a version, an address
  if (n < 9 || n > 12 || dotted || (!chunk.card_separators && !chunk.parens)) {
    return false;
  }
  const auto kept =
      std::min<std::size_t>(static_cast<std::size_t>(chunk.groups), NumberChunk::kKeptGroups);
  // Russia's and Kazakhstan's trunk 8 stands alone before 10 digits: 8 (912) 345-67-89.
  const bool russian_trunk = n == 11 && chunk.digits().front() == '8';
  for (std::size_t g = russian_trunk ? 1 : 0; g < kept; ++g) {
    if (chunk.group_sizes[g] < 2) return false;
  }
  if (chunk.groups > 1) return true;
  const std::string_view d = chunk.digits();
  // The largest 32-bit integers are limits in code ("text max 2147483647"), not numbers to dial.
  if (d == "2147483647" || d == "2147483648" || d == "4294967295" || d == "4294967296") {
    return false;
  }
  if (d[0] == '0') return n <= 11 && d[1] != '0';  // a trunk prefix: "0612345678"
  if (n <= 10) return d[0] >= '2';
  return n == 11 && d[0] == '1';
}

std::size_t match_iban(std::string_view text, std::size_t i);

// Where the IBAN ends whose first group ("DE89", "gb29") stands right before text[i], or i.
std::size_t iban_body_end(std::string_view text, std::size_t i) {
  if (i < 5 || text[i - 1] != ' ' || !is_ascii_alpha(text[i - 5]) || !is_ascii_alpha(text[i - 4]) ||
      !is_ascii_digit(text[i - 3]) || !is_ascii_digit(text[i - 2]) ||
      (i > 5 && is_ascii_alnum(text[i - 6]))) {
    return i;
  }
  const std::size_t after = match_iban(text, i - 5);
  return after == i - 5 ? i : after;
}

// What the number chunk starting at text[i] is, if it is one of the kinds looked for.
std::optional<PiiKind> number_kind(std::string_view text, std::size_t i, const NumberChunk& chunk) {
  if (is_ipv4(chunk)) {
    if (version_named_before(text, i)) return std::nullopt;
    return PiiKind::ip_address;
  }
  if (is_us_ssn(chunk) || (is_undashed_ssn(chunk) && ssn_named_before(text, i))) {
    return PiiKind::us_ssn;
  }
  // 13-digit Visa cards are decades old; 13 digits are an EAN barcode far more often.
  if (is_credit_card(chunk) && !record_id_named_before(text, i) &&
      (chunk.digit_count != 13 || card_named_before(text, i))) {
    return PiiKind::credit_card;
  }
  // "+20240102,43": a line a diff added to a CSV file, not a number to dial.
  const std::size_t end = i + chunk.text.size();
  const bool csv_field = chunk.plus && chunk.groups == 1 && end + 1 < text.size() &&
                         text[end] == ',' && is_ascii_digit(text[end + 1]);
  if (is_phone(chunk) && !csv_field) return PiiKind::phone;
  if (named_phone(chunk) && phone_named_before(text, i) && !record_id_named_before(text, i)) {
    return PiiKind::phone;
  }
  return std::nullopt;
}

// A number of a longer run between spaces: "4111", "212-867-5309", "(415) 555-2671".
struct RunWord {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t plain_digits = 0;  // its length when it is digits alone, else 0
};

// The word of a run that starts at `begin`: it ends at a space after a digit, or with the run.
RunWord read_run_word(std::string_view text, std::size_t begin, std::size_t run_end) {
  std::size_t end = begin + 1;
  while (end < run_end && !(text[end] == ' ' && is_ascii_digit(text[end - 1]))) ++end;
  const std::string_view bytes = text.substr(begin, end - begin);
  const bool plain = std::all_of(bytes.begin(), bytes.end(), is_ascii_digit);
  return {begin, end, plain ? bytes.size() : 0};
}

// The groups a card is printed in: 4-4-4-4 (Visa, Mastercard, Discover), 4-6-5 (Amex), 4-6-4
// (Diners).
constexpr std::array<std::array<std::size_t, 4>, 3> kCardGroupings = {
    {{4, 4, 4, 4}, {4, 6, 5, 0}, {4, 6, 4, 0}}};

// The words a run keeps while it is searched: a card's four groups and the word before them.
using RecentWords = std::array<RunWord, 5>;

// Where the card whose groups are the newest of `words` begins (an index into them), if they
// are one. A number of its edge group's size beside it ("1000 4111 1111 1111 1111", "... 1111
// 2029") makes it part of a list of such numbers, where one window of a brand's prefix in ten
// passes the Luhn check (9 % of lists of 4-digit numbers read as cards).
std::optional<std::size_t> card_ending_here(std::string_view text, const RecentWords& words,
                                            std::size_t count, const RunWord* next) {
  for (const auto& grouping : kCardGroupings) {
    const std::size_t size = grouping[3] == 0 ? 3 : 4;
    if (count < size) continue;
    const std::size_t first = count - size;
    std::array<char, 16> digit_bytes{};
    std::size_t length = 0;
    bool fits = true;
    for (std::size_t g = 0; g < size && fits; ++g) {
      const RunWord& word = words[first + g];
      fits = word.plain_digits == grouping[g];
      if (fits) text.copy(digit_bytes.data() + length, word.plain_digits, word.begin);
      length += word.plain_digits;
    }
    if (!fits) continue;
    const bool inside_list = (first > 0 && words[first - 1].plain_digits == grouping[0]) ||
                             (next != nullptr && next->plain_digits == grouping[size - 1]);
    const std::string_view digits(digit_bytes.data(), length);
    if (!inside_list && card_brand_fits(digits) && luhn_valid(digits)) return first;
  }
  return std::nullopt;
}

// The numbers of a run that is none of the kinds as a whole, each between spaces: a card beside
// its CVV or an amount ("4111111111111111 123", "4111 1111 1111 1111 2029"), a phone after an
// order number ("5521 212-867-5309"). Every word is read once, so a run of any length costs
// linear time. `clean_end`: the run's last word ends before no letter.
template <class Sink>
void scan_run_words(std::string_view text, std::size_t run_begin, std::size_t run_end,
                    bool clean_end, Sink& sink) {
  RunWord word = read_run_word(text, run_begin, run_end);
  if (word.end == run_end) return;  // one word: the whole run, read already
  const bool named_record = record_id_named_before(text, run_begin);
  RecentWords recent{};
  std::size_t count = 0;
  for (;;) {
    std::size_t after = word.end;
    while (after < run_end && text[after] == ' ') ++after;
    std::optional<RunWord> next;
    if (after < run_end) next = read_run_word(text, after, run_end);
    if (count == recent.size()) {
      std::shift_left(recent.begin(), recent.end(), 1);
      --count;
    }
    recent[count++] = word;
    if (const auto first = named_record
                               ? std::nullopt
                               : card_ending_here(text, recent, count, next ? &*next : nullptr)) {
      sink(PiiKind::credit_card, recent[*first].begin, word.end);
      count = 0;
    } else if (next || clean_end) {
      NumberChunk chunk;
      const std::size_t end = read_chunk(text.substr(0, word.end), word.begin, chunk);
      const auto kind = end == word.end ? number_kind(text, word.begin, chunk) : std::nullopt;
      if (kind && !(named_record && *kind == PiiKind::credit_card)) {
        sink(*kind, word.begin, word.end);
        count = 0;
      }
    }
    if (!next) return;
    word = *next;
  }
}

template <class Sink>
void scan_numbers(std::string_view text, Sink& sink) {
  std::size_t i = 0;
  // Where the last chunk that opened with '(' and was none of the kinds ended. Every '(' inside
  // it opens a chunk ending there too: read again from each, "(4) (4) (4) ..." cost time
  // quadratic in the run's length. Past kLongestNumber bytes such a chunk is none either.
  std::size_t paren_run_end = 0;
  while (i < text.size()) {
    // Skip 8 bytes at a time while none can start a chunk (a digit, '+' or '(').
    if (i + 8 <= text.size()) {
      const std::uint64_t x = swar::load(text.data() + i);
      if ((swar::digits(x) | swar::equal(x, '+') | swar::equal(x, '(')) == 0) {
        i += 8;
        continue;
      }
    }
    const char c = text[i];
    const bool starts =
        is_ascii_digit(c) ||
        ((c == '+' || c == '(') && i + 1 < text.size() && is_ascii_digit(text[i + 1])) ||
        country_code_in_parens(text, i) != 0;
    if (!starts) {
      ++i;
      continue;
    }
    const char before = i > 0 ? text[i - 1] : ' ';
    // An IBAN written in lower or mixed case ("de89 3704 ..."): the token scan finds only the
    // upper-case ones (it looks for two capitals in a row).
    // (Written compact, the token scan finds it: only the spaced form here.)
    if (i >= 2 && is_ascii_alpha(before) && is_ascii_alpha(text[i - 2]) &&
        !(is_ascii_upper(before) && is_ascii_upper(text[i - 2])) &&
        (i == 2 || !is_ascii_alnum(text[i - 3])) && i + 2 < text.size() && text[i + 2] == ' ') {
      if (const std::size_t after = match_iban(text, i - 2); after != i - 2) {
        sink(PiiKind::iban, i - 2, after);
        i = after;
        continue;
      }
    }
    // The body of an IBAN written in groups ("DE89 3704 0044 ..."): the token scan reports it,
    // and its groups are no card.
    if (const std::size_t after = iban_body_end(text, i); after != i) {
      i = after;
      continue;
    }
    // After "//" is a URL's host ("http://10.0.4.21:3000/"), and after a '/' that opens the word
    // an address as Java prints one ("/10.12.4.77:8443"), not a path's number.
    const bool host =
        before == '/' && (i < 2 || text[i - 2] == '/' || text[i - 2] == ' ' || text[i - 2] == '\n');
    if (is_ascii_alnum(before) || before == '.' || before == '$' || before == '_' ||
        before == '-' || (before == '/' && !host)) {
      // Inside a word or a longer number: skip the rest of it ('+' and '(' themselves included).
      ++i;
      while (i < text.size() && (is_ascii_alnum(text[i]) || text[i] == '.' || text[i] == '-')) ++i;
      continue;
    }
    if (c == '(' && i < paren_run_end && paren_run_end - i > kLongestNumber) {
      ++i;
      continue;
    }
    NumberChunk chunk;
    const std::size_t end = read_chunk(text, i, chunk);
    const char after = end < text.size() ? text[end] : ' ';
    const bool clean_end = !is_ascii_alnum(after) && after != '_';
    if (clean_end) {
      if (const auto kind = number_kind(text, i, chunk)) {
        sink(*kind, i, end);
        i = end;
        continue;
      }
    }
    // "(4111 1111 1111 1111)", "(10.20.0.11)": a parenthesis that opened no area code is
    // punctuation; the number after it is read on its own.
    if (c == '(') {
      paren_run_end = std::max(paren_run_end, end);
      ++i;
      continue;
    }
    scan_run_words(text, i, end, clean_end, sink);
    i = std::max(end, i + 1);
  }
}

// The end of an IPv6 address that starts at text[i], or i: eight groups of one to four hex
// digits, or fewer around one "::" (2001:db8:85a3::8a2e:370:7334, fe80::1ff:fe23:4567:890a).
// Some group has a digit (C++'s "abc::def" has none), and a "::" form has three groups or opens
// with four digits (fe80::1), not a Python slice ("a[10::2]"). "::1" is no one's address.
std::size_t match_ipv6(std::string_view text, std::size_t i) {
  std::size_t j = i;
  int groups = 0;
  std::size_t first_group = 0;
  bool compressed = false;
  bool digit = false;
  while (j < text.size()) {
    std::size_t length = 0;
    while (j + length < text.size() && length < 5 && is_hex_digit(text[j + length])) {
      digit |= is_ascii_digit(text[j + length]);
      ++length;
    }
    if (length > 4) return i;
    if (length > 0) {
      if (groups++ == 0) first_group = length;
      j += length;
    }
    if (j + 1 < text.size() && text[j] == ':' && text[j + 1] == ':') {
      if (compressed) return i;
      compressed = true;
      j += 2;
    } else if (length > 0 && j + 1 < text.size() && text[j] == ':' && is_hex_digit(text[j + 1])) {
      ++j;
    } else {
      break;
    }
  }
  if (j < text.size() &&
      (is_ascii_alnum(text[j]) || text[j] == '_' || text[j] == ':' || text[j] == '.')) {
    return i;
  }
  const bool shape =
      compressed ? groups <= 7 && (groups >= 3 || (groups == 2 && first_group == 4)) : groups == 8;
  return shape && digit ? j : i;
}

template <class Sink>
void scan_ipv6(std::string_view text, Sink& sink) {
  std::size_t from = 0;
  while (from < text.size()) {
    const auto* colon =
        static_cast<const char*>(std::memchr(text.data() + from, ':', text.size() - from));
    if (colon == nullptr) return;
    std::size_t begin = static_cast<std::size_t>(colon - text.data());
    while (begin > 0 && begin + 4 > static_cast<std::size_t>(colon - text.data()) &&
           is_hex_digit(text[begin - 1])) {
      --begin;
    }
    const char before = begin > 0 ? text[begin - 1] : ' ';
    std::size_t next = static_cast<std::size_t>(colon - text.data()) + 1;
    if (!is_ascii_alnum(before) && before != '_' && before != ':' && before != '.') {
      if (const std::size_t end = match_ipv6(text, begin); end != begin) {
        sink(PiiKind::ip_address, begin, end);
        next = end;
      }
    }
    // Past the rest of this run of groups and colons: each byte is looked at a bounded number
    // of times.
    while (next < text.size() && (text[next] == ':' || is_hex_digit(text[next]))) ++next;
    from = next;
  }
}

// The countries that issue IBANs (SWIFT's registry): a checksum alone lets 1 in 97 random
// tokens through.
bool iban_country(char a, char b) {
  static constexpr std::string_view kCountries =
      "AD AE AL AT AZ BA BE BG BH BI BR BY CH CR CY CZ DE DJ DK DO EE EG ES FI FK FO FR GB GE GI "
      "GL GR GT HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV LY MC MD ME MK MN MR MT MU NI NL "
      "NO OM PK PL PS PT QA RO RS RU SA SC SD SE SI SK SM SO ST SV TL TN TR UA VA VG XK YE";
  for (std::size_t k = 0; k + 1 < kCountries.size(); k += 3) {
    if (kCountries[k] == a && kCountries[k + 1] == b) return true;
  }
  return false;
}

// An IBAN starting at text[i] (which begins a token): returns the index after it, or i.
std::size_t match_iban(std::string_view text, std::size_t i) {
  if (i + 15 > text.size()) return i;
  const char* p = text.data() + i;
  if (!is_ascii_alpha(p[0]) || !is_ascii_alpha(p[1]) || !is_ascii_digit(p[2]) ||
      !is_ascii_digit(p[3]) || !iban_country(ascii_upper(p[0]), ascii_upper(p[1]))) {
    return i;
  }
  // Collect up to 34 alphanumerics (written in either case), allowing single spaces between
  // groups; every group end is a candidate length, longest first.
  std::string compact;
  std::vector<std::pair<std::size_t, std::size_t>> ends;  // (compact length, text index)
  std::size_t j = i;
  while (j < text.size() && compact.size() < 34) {
    const char c = text[j];
    if (is_ascii_alnum(c)) {
      compact += c;
      ++j;
      continue;
    }
    if (c == ' ' && j + 1 < text.size() && is_ascii_alnum(text[j + 1])) {
      ends.emplace_back(compact.size(), j);
      ++j;
      continue;
    }
    break;
  }
  if (j >= text.size() || !is_ascii_alnum(text[j])) ends.emplace_back(compact.size(), j);
  for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
    if (it->first < 15) break;
    if (iban_valid(std::string_view(compact).substr(0, it->first))) return it->second;
  }
  return i;
}

bool is_secret_char(char c) {
  return has_class(c, kSecretChar);
}

bool all_of_class(std::string_view s, bool (*pred)(char)) {
  return std::all_of(s.begin(), s.end(), pred);
}

bool upper_or_digit(char c) {
  return is_ascii_digit(c) || (c >= 'A' && c <= 'Z');
}
bool key_body_char(char c) {
  return is_ascii_alnum(c) || c == '-' || c == '_';
}

// How many bytes of s are in runs of 4+ lower-case letters: identifiers, paths and slugs
// (getUserAccountBalance2024, learn-compatible-estimators) are mostly such word-length runs;
// random keys rarely have a run of four.
std::size_t bytes_in_words(std::string_view s) {
  std::size_t in_words = 0;
  std::size_t run = 0;
  for (std::size_t k = 0; k <= s.size(); ++k) {
    if (k < s.size() && s[k] >= 'a' && s[k] <= 'z') {
      ++run;
      continue;
    }
    if (run >= 4) in_words += run;
    run = 0;
  }
  return in_words;
}

bool has_prefix_key(std::string_view token) {
  auto body_after = [&](std::string_view prefix) {
    return token.starts_with(prefix) ? token.substr(prefix.size()) : std::string_view{};
  };
  // Not a package's slug: lower-case words joined by '-' ("sk-learn-compatible-estimators"),
  // where a key has capitals or digits.
  if (auto b = body_after("sk-"); b.size() >= 20 && all_of_class(b, key_body_char)) {
    const bool slug =
        b.find('-') != std::string_view::npos &&
        std::all_of(b.begin(), b.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
    if (!slug) return true;
  }
  for (std::string_view prefix : {"AKIA", "ASIA"}) {
    if (auto b = body_after(prefix); b.size() == 16 && all_of_class(b, upper_or_digit)) {
      return true;
    }
  }
  for (std::string_view prefix : {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}) {
    if (auto b = body_after(prefix); b.size() >= 30 && all_of_class(b, is_ascii_alnum)) {
      return true;
    }
  }
  if (auto b = body_after("github_pat_"); b.size() >= 20) return true;
  if (auto b = body_after("glpat-"); b.size() >= 20 && all_of_class(b, key_body_char)) return true;
  if (token.size() >= 15 && token.starts_with("xox") &&
      std::string_view("baprs").find(token[3]) != std::string_view::npos && token[4] == '-') {
    return true;
  }
  if (auto b = body_after("AIza"); b.size() == 35 && all_of_class(b, key_body_char)) return true;
  // Mailgun's: "key-" and 32 lower-case letters and digits, some of them digits (a slug such as
  // "key-management" is words).
  if (auto b = body_after("key-");
      b.size() == 32 &&
      all_of_class(b, [](char c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'z'); }) &&
      std::count_if(b.begin(), b.end(), is_ascii_digit) >= 4) {
    return true;
  }
  // Stripe's secret and restricted keys and webhook secrets, Hugging Face and npm tokens.
  for (std::string_view prefix :
       {"sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_", "hf_", "npm_"}) {
    if (auto b = body_after(prefix); b.size() >= 24 && all_of_class(b, is_ascii_alnum)) {
      return true;
    }
  }
  return false;
}

// Base64 of prose ("VGhpcyBpcyBqdXN0IGEgdGVzdA==", "This is just a test"): encoded words with
// spaces between them, which look random but hide no secret (an encoded "user:password" has no
// spaces, and stays a secret).
bool encodes_prose(std::string_view token) {
  const auto decoded = core::base64_decode(token);
  if (!decoded || decoded->size() < 12) return false;
  // A JSON object (a pagination cursor): data, not a secret, unless it holds one
  // ({"user":"admin","password":"hunter2"}, a service account's private_key).
  if (decoded->front() == '{' && std::all_of(decoded->begin(), decoded->end(), [](unsigned char c) {
        return c >= 0x20 && c <= 0x7e;
      })) {
    std::string json(decoded->begin(), decoded->end());
    for (char& c : json) c = ascii_lower(c);
    for (const std::string_view secret : {"pass", "secret", "token", "key", "private", "auth"}) {
      if (json.find(secret) != std::string::npos) return false;
    }
    return true;
  }
  std::size_t letters = 0;
  std::size_t spaces = 0;
  for (const unsigned char c : *decoded) {
    if (c < 0x20 || c > 0x7e) return false;
    letters += is_ascii_alpha(static_cast<char>(c));
    spaces += c == ' ';
  }
  return spaces * 12 >= decoded->size() && letters * 10 >= decoded->size() * 7;
}

// Base64 of a picture, a document or an archive (an image pasted without its data: prefix),
// known by the encoded magic bytes it starts with.
bool encodes_file(std::string_view token) {
  static constexpr std::string_view kMagic[] = {
      "iVBORw0KGgo",  // PNG
      "/9j/",         // JPEG
      "R0lGOD",       // GIF
      "JVBERi0",      // PDF
      "UEsDB",        // ZIP (and docx, xlsx, jar)
      "UklGR",        // RIFF (WebP, WAV)
      "H4sI",         // gzip
      "d09GM",        // WOFF2
      "d09GR",        // WOFF
      "AAEAAA",       // TrueType
      "T2dnU",        // Ogg
      "SUQz",         // MP3 with an ID3 tag
  };
  return std::any_of(std::begin(kMagic), std::end(kMagic),
                     [&](std::string_view magic) { return token.starts_with(magic); });
}

// Long random-looking tokens: mixed case and digits, no dictionary-like runs, high entropy.
bool is_high_entropy_token(std::string_view token) {
  if (token.size() < 32 || token.size() > 4096) return false;
  bool upper = false;
  bool lower = false;
  bool digit = false;
  int counts[128] = {};
  for (char c : token) {
    upper |= c >= 'A' && c <= 'Z';
    lower |= c >= 'a' && c <= 'z';
    digit |= is_ascii_digit(c);
    ++counts[static_cast<unsigned char>(c) & 127];
  }
  if (!(upper && lower && digit)) return false;
  if (token.find('/') != std::string_view::npos && token.find("//") != std::string_view::npos) {
    return false;  // URLs and paths
  }
  if (bytes_in_words(token) * 100 > token.size() * 35) return false;
  double entropy = 0;
  const double n = static_cast<double>(token.size());
  for (int count : counts) {
    if (count == 0) continue;
    const double p = count / n;
    entropy -= p * std::log2(p);
  }
  return entropy >= 4.2 && !encodes_prose(token) && !encodes_file(token);
}

// Where scan_tokens must look from i on, 8 bytes at a time: only tokens of 19+ bytes (keys)
// and tokens starting with two upper-case letters (IBANs) can count, and prose has few of
// either. A token of 15+ bytes holds an aligned block of 8 token bytes, all ASCII in '+'..'z'
// (the span of the key alphabet); an IBAN's country code is an upper-case pair. Returns the
// start of the token (not before i) holding the first such block or pair, or the start of
// the token holding the last partial block (read byte by byte), or text.size(). The tokens
// skipped are exactly those the byte-by-byte loop would have looked at and passed over.
std::size_t next_token_candidate(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  std::size_t b = i - i % 8;
  bool upper_before = b > 0 && text[b - 1] >= 'A' && text[b - 1] <= 'Z';
  std::size_t at = n;
  for (; b + 8 <= n; b += 8) {
    const std::uint64_t x = swar::load(text.data() + b);
    const std::uint64_t upper = swar::in_range(x & ~swar::kHighs, 'A', 'Z') & ~x;
    if ((swar::in_range(x & ~swar::kHighs, '+', 'z') & ~x) == swar::kHighs) {
      at = b;
      break;
    }
    if (const std::uint64_t pairs = upper & (upper >> 8); pairs != 0) {
      at = b + static_cast<std::size_t>(std::countr_zero(pairs)) / 8;
      break;
    }
    if (upper_before && (upper & 0x80U) != 0) {
      at = b - 1;
      break;
    }
    upper_before = (upper >> 63) != 0;
  }
  if (at == n) at = b;  // no block matched: the tail, if any
  at = std::max(at, i);
  while (at > i && is_secret_char(text[at - 1])) --at;
  return at;
}

// The end of the base64 lines right after `from` (a PEM body whose END line was cut off); a
// blank line or one with anything else in it ends them.
std::size_t end_of_base64_lines(std::string_view text, std::size_t from) {
  const auto base64 = [](char c) { return is_ascii_alnum(c) || c == '+' || c == '/' || c == '='; };
  std::size_t end = from;
  while (true) {
    std::size_t line = end;
    if (line < text.size() && text[line] == '\r') ++line;
    if (line >= text.size() || text[line] != '\n') break;
    ++line;
    std::size_t line_end = line;
    while (line_end < text.size() && base64(text[line_end])) ++line_end;
    if (line_end == line) break;
    if (line_end < text.size() && text[line_end] != '\n' && text[line_end] != '\r') break;
    end = line_end;
  }
  return end;
}

// A PEM private key: from its BEGIN line through its END line, or through the base64 lines
// after the BEGIN line when the END line is missing (a key pasted cut short).
template <class Sink>
void scan_private_keys(std::string_view text, Sink& sink) {
  std::size_t from = 0;
  // Past this no "-----END " follows: searched once, not once per BEGIN line (20,000 BEGIN lines
  // without an END took 10 s).
  std::size_t no_footer_after = text.size() + 1;
  while ((from = text.find("-----BEGIN ", from)) != std::string_view::npos) {
    const std::size_t line_end = text.find("-----", from + 11);
    if (line_end == std::string_view::npos) break;
    std::size_t end = line_end + 5;
    if (text.substr(from, line_end - from).find("PRIVATE KEY") != std::string_view::npos) {
      const std::size_t footer =
          end >= no_footer_after ? std::string_view::npos : text.find("-----END ", end);
      if (footer == std::string_view::npos) no_footer_after = std::min(no_footer_after, end);
      const std::size_t footer_end =
          footer == std::string_view::npos ? footer : text.find("-----", footer + 9);
      end = footer_end != std::string_view::npos ? footer_end + 5 : end_of_base64_lines(text, end);
      sink(PiiKind::api_key, from, end);
    }
    from = end;
  }
}

// Where a key-alphabet token starting at i ends: an '=' inside it separates a name from its
// value ("token=..."), trailing '=' are base64 padding and stay with it.
std::size_t token_end(std::string_view text, std::size_t i) {
  std::size_t end = i;
  while (end < text.size() && is_secret_char(text[end]) && text[end] != '=') ++end;
  while (end < text.size() && text[end] == '=') ++end;
  return end;
}

// A JSON Web Token at i (a bearer credential): three base64url parts joined by '.', the first
// two JSON objects, so starting "eyJ" ('{"'). Returns its end, or i.
std::size_t jwt_end(std::string_view text, std::size_t i) {
  constexpr std::size_t kMinPart[] = {10, 10, 16};  // an HS256 signature has 43 characters
  std::size_t at = i;
  for (std::size_t part = 0; part < 3; ++part) {
    if (part > 0) {
      if (at >= text.size() || text[at] != '.') return i;
      ++at;
    }
    if (part < 2 && text.substr(at, 3) != "eyJ") return i;
    const std::size_t start = at;
    while (at < text.size() && key_body_char(text[at])) ++at;
    if (at - start < kMinPart[part]) return i;
  }
  return at;
}

// Tokens of key alphabets: API keys, high-entropy secrets, and IBANs (which start a token).
// A token that is a content digest, not a secret: Subresource Integrity and npm's `integrity`
// ("sha512-..."), base64 data URIs ("data:image/png;base64,...").
bool names_a_digest(std::string_view text, std::size_t token_start) {
  const std::string_view before = text.substr(0, token_start);
  const std::string_view token = text.substr(token_start);
  for (std::string_view tag : {"sha1-", "sha256-", "sha384-", "sha512-"}) {
    if (token.starts_with(tag) || before.ends_with(tag)) return true;
  }
  // go.sum's "h1:" module hashes; an SSH public key after its type.
  for (std::string_view tag : {";base64,", "h1:", "ssh-rsa ", "ssh-ed25519 ", "ssh-dss ",
                               "nistp256 ", "nistp384 ", "nistp521 "}) {
    if (before.ends_with(tag)) return true;
  }
  // A Google document's id in its link (".../document/d/1BxiMVs0.../edit": the link is one
  // token in the key alphabet).
  const std::string_view word = token.substr(0, token.find_first_of(" \n\t\"'"));
  if (word.find("/d/") != std::string_view::npos) return true;
  // The ids of OpenAI's objects, pasted from logs and answers ("chatcmpl-9pQ3fXkL...").
  for (std::string_view tag : {"chatcmpl-", "resp_", "msg_", "call_", "fc_", "file-", "batch_",
                               "asst_", "thread_", "run_", "step_", "vs_", "ftjob-"}) {
    if (token.starts_with(tag)) return true;
  }
  return false;
}

// The value of a URL query parameter whose name is no credential's ("?list=PLrAXt...",
// "&v=..."): an id of what the link shows. ("?key=", "&token=", "sig=" stay secrets.)
bool public_query_value(std::string_view text, std::size_t token_start) {
  if (token_start == 0 || text[token_start - 1] != '=') return false;
  std::size_t begin = token_start - 1;
  while (begin > 0 && (is_ascii_alnum(text[begin - 1]) || text[begin - 1] == '_')) --begin;
  if (begin == 0 || (text[begin - 1] != '?' && text[begin - 1] != '&')) return false;
  std::string name(text.substr(begin, token_start - 1 - begin));
  for (char& c : name) c = ascii_lower(c);
  for (const std::string_view secret :
       {"key", "token", "secret", "sig", "pass", "auth", "code", "credential", "session", "pwd"}) {
    if (name.find(secret) != std::string::npos) return false;
  }
  return true;
}

// "sk-xxxxxxxxxxxxxxxxxxxx", "AKIAXXXXXXXXXXXXXXXX", "ghp_000000...": a placeholder where a key
// goes. No real key repeats one character in most of its places.
bool is_placeholder(std::string_view token) {
  std::array<std::size_t, 256> counts{};
  std::size_t most = 0;
  for (const char c : token) most = std::max(most, ++counts[static_cast<unsigned char>(c)]);
  return most * 2 > token.size();
}

// The stretches of public key material (certificates, public keys, PGP public key blocks,
// "-----BEGIN ...-----" through "-----END"): base64 there is published, not secret.
std::vector<TextSpan> public_blocks(std::string_view text) {
  std::vector<TextSpan> blocks;
  std::size_t no_footer_after = text.size() + 1;  // as in scan_private_keys
  constexpr std::string_view kBegin = "-----BEGIN ";
  for_each_occurrence(text, kBegin, [&](std::size_t begin) {
    const std::size_t label_end = text.find("-----", begin + kBegin.size());
    if (label_end == std::string_view::npos || label_end - begin > 80) return;
    const std::string_view label =
        text.substr(begin + kBegin.size(), label_end - begin - kBegin.size());
    const bool is_public = label.find("PRIVATE") == std::string_view::npos &&
                           (label.find("CERTIFICATE") != std::string_view::npos ||
                            label.find("PUBLIC KEY") != std::string_view::npos);
    if (!is_public || (!blocks.empty() && begin < blocks.back().end)) return;
    // (Cut short before its END line, the block ends with its base64 lines, as a private
    // key's does: a key written after it is still one.)
    const std::size_t end = label_end + 5 >= no_footer_after ? std::string_view::npos
                                                             : text.find("-----END", label_end + 5);
    if (end == std::string_view::npos) no_footer_after = std::min(no_footer_after, label_end + 5);
    blocks.push_back(
        {begin, end == std::string_view::npos ? end_of_base64_lines(text, label_end + 5) : end});
  });
  return blocks;
}

template <class Sink>
void scan_tokens(std::string_view text, Sink& sink, bool dashes) {
  // (PEM blocks need "-----".)
  if (dashes) scan_private_keys(text, sink);
  const std::vector<TextSpan> blocks = dashes ? public_blocks(text) : std::vector<TextSpan>();
  std::size_t next_block = 0;
  std::size_t i = 0;
  while ((i = next_token_candidate(text, i)) < text.size()) {
    while (i < text.size() && (!is_secret_char(text[i]) || text[i] == '=')) ++i;
    if (i == text.size()) break;
    if (const std::size_t after = match_iban(text, i); after != i) {
      sink(PiiKind::iban, i, after);
      i = after;
      continue;
    }
    if (const std::size_t after = jwt_end(text, i); after != i) {
      sink(PiiKind::api_key, i, after);
      i = after;
      continue;
    }
    const std::size_t end = token_end(text, i);
    std::string_view token = text.substr(i, end - i);
    while (!token.empty() && token.back() == '=') token.remove_suffix(1);
    // Sentence punctuation after a key ("use sk-...-." or "key/") is not part of it.
    std::string_view key = token;
    while (!key.empty() && (key.back() == '-' || key.back() == '/' || key.back() == '+')) {
      key.remove_suffix(1);
    }
    while (next_block < blocks.size() && blocks[next_block].end <= i) ++next_block;
    if (next_block < blocks.size() && blocks[next_block].begin <= i) {
      i = blocks[next_block].end;
      continue;
    }
    if (key.size() >= 19 && (has_prefix_key(key) || is_high_entropy_token(key)) &&
        !names_a_digest(text, i) && !is_placeholder(key) &&
        !(public_query_value(text, i) && !has_prefix_key(key))) {
      sink(PiiKind::api_key, i, key.size() == token.size() ? end : i + key.size());
    }
    i = end;
  }
}

}  // namespace

std::string_view pii_kind_name(PiiKind kind) {
  switch (kind) {
    case PiiKind::email:
      return "email";
    case PiiKind::phone:
      return "phone";
    case PiiKind::credit_card:
      return "credit_card";
    case PiiKind::iban:
      return "iban";
    case PiiKind::us_ssn:
      return "us_ssn";
    case PiiKind::api_key:
      return "api_key";
    case PiiKind::ip_address:
      return "ip_address";
  }
  return "unknown";
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (!is_ascii_digit(*it)) return false;
    int d = *it - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

bool iban_valid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  // Move the country code and check digits to the end, letters become 10..35, then mod 97.
  int remainder = 0;
  auto feed = [&](char c) {
    if (is_ascii_digit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      const int value = ascii_upper(c) - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  };
  for (std::size_t k = 0; k < iban.size(); ++k) {
    const char c = iban[(k + 4) % iban.size()];
    if (!is_ascii_alnum(c)) return false;
    feed(c);
  }
  return remainder == 1;
}

namespace {

// A UTF-8 character that hides a number, an address or a key from the scanners without
// changing what a reader (or a model) sees: its byte length and what stands for it ("" to drop
// it). Size 0 when `text` does not start with one.
struct Disguise {
  std::size_t size = 0;
  std::string_view plain;
};

Disguise disguise(std::string_view text) {
  const auto byte = [&](std::size_t k) {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0;
  };
  static constexpr std::string_view kDigits = "0123456789";
  const unsigned a = byte(0), b = byte(1), c = byte(2);
  if (a == 0xC2 && b == 0xAD) return {2, ""};   // soft hyphen
  if (a == 0xC2 && b == 0xA0) return {2, " "};  // no-break space
  if (a == 0xD9 && b >= 0xA0 && b <= 0xA9) return {2, kDigits.substr(b - 0xA0, 1)};
  if (a == 0xDB && b >= 0xB0 && b <= 0xB9) return {2, kDigits.substr(b - 0xB0, 1)};
  if (a == 0xE0 && b == 0xA5 && c >= 0xA6 && c <= 0xAF) {  // Devanagari digits
    return {3, kDigits.substr(c - 0xA6, 1)};
  }
  if (a == 0xE2 && b == 0x80 && c >= 0x80) {
    if (c >= 0x8B && c <= 0x8F) return {3, ""};   // zero-width, left-to-right/right-to-left marks
    if (c >= 0xAA && c <= 0xAE) return {3, ""};   // direction embeddings and overrides
    if (c <= 0x8A || c == 0xAF) return {3, " "};  // typographic spaces
    if (c >= 0x90 && c <= 0x95) return {3, "-"};  // hyphens and dashes
  }
  if (a == 0xE2 && b == 0x81 && c == 0xA0) return {3, ""};  // word joiner
  if (a == 0xE2 && b == 0x81 && c >= 0xA6 && c <= 0xA9) {   // direction isolates
    return {3, ""};
  }
  // The prolonged sound mark (ー, and its half-width ｰ): Japanese keyboards type it for a dash.
  if (a == 0xE3 && b == 0x83 && c == 0xBC) return {3, "-"};
  if (a == 0xEF && b == 0xBD && c == 0xB0) return {3, "-"};
  if (a == 0xE2 && b == 0x81 && c == 0x9F) return {3, " "};     // math space
  if (a == 0xE2 && b == 0x88 && c == 0x92) return {3, "-"};     // minus sign
  if (a == 0xE3 && b == 0x80 && c == 0x80) return {3, " "};     // ideographic space
  if (a == 0xEF && b == 0xBB && c == 0xBF) return {3, ""};      // zero-width no-break
  if (a == 0xEF && (b == 0xBC || b == 0xBD)) {                  // full-width ASCII
    const unsigned code = (b - 0xBC) * 64 + (c - 0x80) + 0x20;  // U+FF01.. -> '!'..
    if (c >= 0x80 && c <= 0xBF && code >= 0x21 && code <= 0x7E) {
      static constexpr std::string_view kAscii =
          "!\"#$%&'()*+,-./"
          "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
      return {3, kAscii.substr(code - 0x21, 1)};
    }
  }
  return {};
}

// Where plain_for_scanning has work to do in `text` (text.size() when nowhere): a character
// that disguises. Eight bytes at a time while a block is ASCII, as most prompts are.
std::size_t first_disguise(std::string_view text) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && (swar::load(text.data() + i) & swar::kHighs) == 0) {
      i += 8;
      continue;
    }
    for (const std::size_t block_end = std::min(n, i + 8); i < block_end; ++i) {
      if (is_non_ascii(text[i]) && disguise(text.substr(i)).size != 0) return i;
    }
  }
  return n;
}

// `text` as the scanners should read it: characters that only disguise a number, an address or
// a key (zero-width and soft hyphens, odd spaces, dashes, full-width and other-script digits)
// made plain. `text` itself when nothing needs it.
// With `origin`, where each byte of the plain text came from in `text` (one more entry: the end).
std::string_view plain_for_scanning(std::string_view text, std::string& buffer,
                                    std::vector<std::size_t>* origin = nullptr) {
  const std::size_t first = first_disguise(text);
  if (first == text.size()) return text;
  buffer.assign(text.substr(0, first));
  if (origin) {
    origin->resize(first);
    for (std::size_t k = 0; k < first; ++k) (*origin)[k] = k;
  }
  const auto emit = [&](std::string_view bytes, std::size_t from) {
    buffer.append(bytes);
    if (origin) origin->insert(origin->end(), bytes.size(), from);
  };
  for (std::size_t i = first; i < text.size();) {
    const char c = text[i];
    if (const Disguise found = is_non_ascii(c) ? disguise(text.substr(i)) : Disguise{};
        found.size != 0) {
      emit(found.plain, i);
      i += found.size;
    } else {
      // Up to the next character to change, at once.
      const std::size_t next = i + 1 + first_disguise(text.substr(i + 1));
      buffer.append(text.substr(i, next - i));
      if (origin) {
        for (std::size_t k = i; k < next; ++k) origin->push_back(k);
      }
      i = next;
    }
  }
  if (origin) origin->push_back(text.size());
  return buffer;
}

// A password in a URL's user info (postgres://admin:S3cret@db:5432, https://user:pw@host), or
// a key standing for the whole user info (https://ghp_...@github.com, as git remotes and
// webhooks carry tokens).
template <class Sink>
void scan_url_credentials(std::string_view text, Sink& sink) {
  for (std::size_t at = text.find("://"); at != std::string_view::npos;
       at = text.find("://", at + 3)) {
    const std::size_t start = at + 3;
    const std::size_t end = user_info_end(text, start);
    if (end == start) continue;
    const std::size_t colon = text.find(':', start);
    if (colon < end) {
      if (colon + 1 < end) sink(PiiKind::api_key, colon + 1, end);
      continue;
    }
    const std::string_view user = text.substr(start, end - start);
    if (has_prefix_key(user) || is_high_entropy_token(user)) sink(PiiKind::api_key, start, end);
  }
}

// A password or key written out after its name: "password: X", "DB_PASSWORD=X", "my password
// is X", "auth token: X".
struct SecretName {
  std::string_view name;
  std::size_t shortest;  // value length
  bool needs_letter_and_digit;
  bool capitalized_only = false;  // "PWD=", "Pwd=" of ODBC strings, not the shell's pwd
};

constexpr SecretName kSecretNames[] = {
    {"password", 6, false},   {"passwd", 6, false}, {"passcode", 6, false},
    {"passphrase", 6, false}, {"pass", 6, true},    {"pwd", 6, false, true},
    {"token", 16, true},      {"secret", 16, true}, {"apikey", 16, true},
    {"api_key", 16, true},
};

// The name that ends at `end` (case-insensitive; a word's end, as in "DB_PASSWORD", or the
// end of an upper-case environment name, as in "PGPASSWORD"), if any.
const SecretName* secret_name_before(std::string_view text, std::size_t end) {
  // Most ':' and '=' follow no name: their last letters tell at once.
  if (end == 0) return nullptr;
  const char last = ascii_lower(text[end - 1]);
  if (last != 'd' && last != 'e' && last != 's' && last != 'n' && last != 't' && last != 'y') {
    return nullptr;
  }
  for (const SecretName& candidate : kSecretNames) {
    const std::size_t n = candidate.name.size();
    if (end < n) continue;
    const std::string_view written = text.substr(end - n, n);
    const bool upper = std::all_of(written.begin(), written.end(), is_ascii_upper);
    if (candidate.capitalized_only && !is_ascii_upper(written.front())) continue;
    if (end > n && is_ascii_alpha(text[end - n - 1]) &&
        !(upper && is_ascii_upper(text[end - n - 1])))
      continue;
    bool same = true;
    for (std::size_t k = 0; k < n && same; ++k) same = ascii_lower(written[k]) == candidate.name[k];
    if (same) return &candidate;
  }
  return nullptr;
}

// A value as people write secrets, not code that computes one: no brackets, parentheses or
// ';' in it, and a digit or a symbol ("hunter2", "Tr0ub4dor&3"), not a variable's name
// ("process.env.PASSWORD").
bool looks_like_secret_value(std::string_view value, const SecretName& name, bool quoted) {
  // Masked ("********"), a comparison ("==hash") or a link ("reset password: https://...").
  // A path ("PWD=/home/alice", "password_file: ~/.pw") names where a secret is, not the secret.
  if (value.size() < name.shortest || value.front() == '=' || value.front() == '/' ||
      value.starts_with("~/") || value.find("://") != std::string_view::npos) {
    return false;
  }
  if (std::none_of(value.begin(), value.end(), is_ascii_alnum)) return false;
  // A name of lower-case words joined by '-' ("secret: db-credentials-v2", a Kubernetes
  // secret's name), not a token (a passphrase may well be one: "correct-horse-9-battery").
  const bool slug = std::all_of(value.begin(), value.end(), [](char c) {
    return is_ascii_lower(c) || is_ascii_digit(c) || c == '-';
  });
  if (name.needs_letter_and_digit && slug && std::count(value.begin(), value.end(), '-') >= 2) {
    return false;
  }
  // A variable ("password=$DB_PASS"), not a value; inside one a '$' is a symbol ("Adm1n$2024").
  if (value.front() == '$') return false;
  bool letter = false;
  bool digit = false;
  bool symbol = false;
  for (const char c : value) {
    // Quoted, ';' is a password's symbol ({"password": "G7;kP!q9"}), not code's.
    const std::string_view code = quoted ? "()[]{}<>" : "()[]{};<>";
    if (code.find(c) != std::string_view::npos) return false;
    letter |= is_ascii_alpha(c);
    digit |= is_ascii_digit(c);
    symbol |= !is_ascii_alnum(c) && c != '.' && c != '_' && c != '-';
  }
  return name.needs_letter_and_digit ? letter && digit : digit || symbol;
}

struct SecretValue {
  std::string_view text;
  bool quoted = false;
};

// The value starting at `begin` (over spaces): in quotes, up to the closing one; else up to a
// space, a quote, a comma or a ';' (".NET's "Password=X;Trust..."), without a sentence's final
// stop.
SecretValue value_at(std::string_view text, std::size_t begin) {
  constexpr std::size_t kLongestValue = 128;
  while (begin < text.size() && text[begin] == ' ') ++begin;
  if (begin < text.size() && (text[begin] == '"' || text[begin] == '\'')) {
    const char quote = text[begin++];
    std::size_t end = begin;
    while (end < text.size() && end - begin <= kLongestValue && text[end] != quote &&
           text[end] != '\n') {
      ++end;
    }
    if (end == text.size() || text[end] != quote) return {};
    return {text.substr(begin, end - begin), true};
  }
  std::size_t end = begin;
  while (end < text.size() && end - begin <= kLongestValue && text[end] > ' ' && text[end] != '"' &&
         text[end] != '\'' && text[end] != ',' && text[end] != ';') {
    ++end;
  }
  if (end - begin > kLongestValue) return {};
  while (end > begin && (text[end - 1] == '.' || text[end - 1] == '!' || text[end - 1] == '?')) {
    --end;
  }
  return {text.substr(begin, end - begin), false};
}

// Whether the number scan reports a number starting at text[begin] ("password: 4111111111111111"
// is a card, not also a key).
bool number_reported(std::string_view text, std::size_t begin) {
  if (begin >= text.size() || !(is_ascii_digit(text[begin]) || text[begin] == '+')) return false;
  NumberChunk chunk;
  const std::size_t end = read_chunk(text, begin, chunk);
  // (Run into letters, "4111111111111111abc", the number scan reports nothing.)
  if (end < text.size() && (is_ascii_alnum(text[end]) || text[end] == '_')) return false;
  return number_kind(text, begin, chunk).has_value();
}

template <class Sink>
void report_named_value(std::string_view text, std::size_t name_end, std::size_t value_from,
                        Sink& sink) {
  const SecretName* name = secret_name_before(text, name_end);
  if (name == nullptr) return;
  const std::size_t name_begin = name_end - name->name.size();
  const bool query = name_begin > 0 && (text[name_begin - 1] == '?' || text[name_begin - 1] == '&');
  const SecretValue found = value_at(text, value_from);
  std::string_view value = found.text;
  if (value.empty()) return;
  if (query) value = value.substr(0, value.find('&'));  // "?password=X&next=..."
  const auto begin = static_cast<std::size_t>(value.data() - text.data());
  // (A key the token scan finds, or a card or phone the number scan finds, is reported by it.)
  // The token scan reports a key it finds at the value's start (up to the first byte no key
  // holds: "token=Zx8K...&x=1"); one it splits ("9TTtiPRy~pj_mr2s...") is reported here.
  const std::string_view head = value.substr(
      0, static_cast<std::size_t>(std::find_if_not(value.begin(), value.end(), is_secret_char) -
                                  value.begin()));
  if (looks_like_secret_value(value, *name, found.quoted) && !has_prefix_key(head) &&
      !is_high_entropy_token(head) && !number_reported(text, begin)) {
    sink(PiiKind::api_key, begin, begin + value.size());
  }
}

template <class Sink>
void scan_named_secrets(std::string_view text, Sink& sink, bool password_said) {
  // After ':' or '=' (rare in prose): the name before it, over spaces and a closing quote.
  for (const char separator : {':', '='}) {
    for (std::size_t at = text.find(separator); at != std::string_view::npos;
         at = text.find(separator, at + 1)) {
      std::size_t name_end = at;
      while (
          name_end > 0 && at - name_end < 3 &&
          (text[name_end - 1] == ' ' || text[name_end - 1] == '"' || text[name_end - 1] == '\'')) {
        --name_end;
      }
      report_named_value(text, name_end, at + 1, sink);
    }
  }
  if (!password_said) return;
  // "my password is X", "Password is X" (found by "word is ": 'w' is rarer than 's').
  constexpr std::string_view kSaid = "word is ";
  for_each_occurrence(
      text, kSaid, [&](std::size_t i) { report_named_value(text, i + 4, i + kSaid.size(), sink); });
}

// A password given on a command line: "mysql -pK8s!Adm1n2024", "sshpass -p 'Dr4gon!fly'",
// "curl -u admin:W3lcome!2024".
template <class Sink>
void scan_command_line_secrets(std::string_view text, Sink& sink) {
  static constexpr SecretName kOption{"password", 4, false};
  const auto report = [&](std::size_t from, bool user_and_password) {
    const SecretValue found = value_at(text, from);
    std::string_view value = found.text;
    if (user_and_password) {
      const std::size_t colon = value.find(':');
      if (colon == std::string_view::npos) return;
      value = value.substr(colon + 1);
    }
    if (!value.empty() && looks_like_secret_value(value, kOption, found.quoted)) {
      const auto begin = static_cast<std::size_t>(value.data() - text.data());
      sink(PiiKind::api_key, begin, begin + value.size());
    }
  };
  // Found by their flags, then the program named on the flag's line: "-p" with its value
  // attached for mysql ("-p" alone prompts for it; "-P" is the port), "-p VALUE" for sshpass
  // and docker login, "-u user:password" or "--user" for curl.
  for_each_occurrence(text, "-", [&](std::size_t at) {
    if (at == 0 || text[at - 1] != ' ') return;
    const std::string_view flag = text.substr(at + 1, 6);
    const bool p_flag = flag.starts_with('p');
    const bool user_flag = flag.starts_with("u ") || flag.starts_with("-user ");
    if (!p_flag && !user_flag) return;
    // The program is named on the flag's line, at most kCommandBytes before it (bounded: a
    // megabyte of " -p" on one line costs no more than linear time).
    constexpr std::size_t kCommandBytes = 256;
    const std::size_t window_begin = at > kCommandBytes ? at - kCommandBytes : 0;
    std::string_view line = text.substr(window_begin, at - window_begin);
    if (const std::size_t newline = line.rfind('\n'); newline != std::string_view::npos) {
      line.remove_prefix(newline + 1);
    }
    const std::size_t after = at + 2;
    const bool takes_password = line.find("sshpass") != std::string_view::npos ||
                                line.find("docker login") != std::string_view::npos;
    if (flag.starts_with("p ") && takes_password) {
      report(after, false);
    } else if (p_flag && flag.size() > 1 && flag[1] != ' ' &&
               line.find("mysql") != std::string_view::npos) {
      report(after, false);
    } else if (user_flag && line.find("curl") != std::string_view::npos) {
      report(flag.starts_with('u') ? after : at + 7, true);
    }
  });
}

// "Authorization: Basic dXNlcjpwYXNz": base64 of user:password.
template <class Sink>
void scan_basic_credentials(std::string_view text, Sink& sink) {
  for_each_occurrence(text, "Basic ", [&](std::size_t at) {
    const std::size_t begin = at + 6;
    std::size_t end = begin;
    while (
        end < text.size() && end - begin < 512 &&
        (is_ascii_alnum(text[end]) || text[end] == '+' || text[end] == '/' || text[end] == '=')) {
      ++end;
    }
    if (end - begin < 8 || (end < text.size() && is_secret_char(text[end]))) return;
    const auto decoded = core::base64_decode(text.substr(begin, end - begin));
    if (!decoded) return;
    const std::string_view plain(reinterpret_cast<const char*>(decoded->data()), decoded->size());
    const std::size_t colon = plain.find(':');
    const bool printable = std::all_of(plain.begin(), plain.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
    });
    if (printable && colon != std::string_view::npos && colon > 0 && colon + 1 < plain.size()) {
      sink(PiiKind::api_key, begin, end);
    }
  });
}

template <class Sink>
void scan_all(std::string_view text, Sink& sink) {
  const unsigned marks = find_rare_marks(text);
  scan_emails(text, sink);
  scan_emails(text, sink, "%40");
  if (marks & kSpelledAddress) scan_spelled_emails(text, sink);
  scan_numbers(text, sink);
  if (marks & kIpv6) scan_ipv6(text, sink);
  scan_tokens(text, sink, (marks & kDashes) != 0);
  scan_url_credentials(text, sink);
  scan_named_secrets(text, sink, (marks & kPasswordSaid) != 0);
  if (marks & kFlag) scan_command_line_secrets(text, sink);
  if (marks & kBasic) scan_basic_credentials(text, sink);
}

}  // namespace

PiiCounts detect_pii(std::string_view original) {
  std::string buffer;
  const std::string_view text = plain_for_scanning(original, buffer);
  CountingSink sink;
  scan_all(text, sink);
  return sink.counts;
}

std::vector<PiiMatch> find_pii(std::string_view original) {
  std::string buffer;
  std::vector<std::size_t> origin;
  const std::string_view text = plain_for_scanning(original, buffer, &origin);
  CollectingSink sink;
  scan_all(text, sink);
  if (!origin.empty()) {  // back to where the matches are in the text as written
    for (auto& match : sink.matches) {
      match.begin = origin[match.begin];
      match.end = origin[match.end];
    }
  }
  std::sort(sink.matches.begin(), sink.matches.end(), [](const PiiMatch& a, const PiiMatch& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  return std::move(sink.matches);
}

}  // namespace llm_router::analyzer
