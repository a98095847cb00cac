#include "llm_router/analyzer/semantic.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "llm_router/core/case_fold.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {
namespace {

constexpr float kWordWeight = 1.0f;
constexpr float kCharWeight = 0.4f;

bool is_token_byte(char c) {
  return has_class(c, kTokenChar);  // ASCII letter or digit, or non-ASCII
}

std::uint32_t dim_of(std::uint64_t hash) {
  return static_cast<std::uint32_t>(hash >> (64 - HashedNgramEmbedder::kBits));
}

// Calls add(dim, weight) for every n-gram of text.
template <typename Add>
void for_each_ngram(std::string_view text, Add&& add) {
  std::uint64_t previous = 0;
  char word[48];
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_token_byte(text[i])) ++i;
    std::size_t length = 0;
    bool ascii = true;
    while (i < text.size() && is_token_byte(text[i])) {
      if (length < sizeof word - 2) word[1 + length] = table_lower(text[i]);
      ascii = ascii && static_cast<unsigned char>(text[i]) < 0x80;
      ++length;
      ++i;
    }
    if (length == 0) continue;
    length = std::min(length, sizeof word - 2);
    if (!ascii) core::lower_utf8_in_place(word + 1, length);
    const std::string_view token(word + 1, length);
    const std::uint64_t hash = word_hash(token);
    add(dim_of(hash), kWordWeight);
    if (previous != 0) add(dim_of(mix_hash(previous, hash)), kWordWeight);
    previous = hash;
    // Character trigrams of " word " catch inflections ("summarize" ~ "summarise", "summary").
    word[0] = ' ';
    word[1 + length] = ' ';
    const std::string_view padded(word, length + 2);
    // One multiply per trigram: the three bytes and a tag packed into a word, then mixed.
    for (std::size_t k = 0; k + 3 <= padded.size(); ++k) {
      const std::uint64_t packed = static_cast<unsigned char>(padded[k]) |
                                   static_cast<unsigned char>(padded[k + 1]) << 8 |
                                   static_cast<unsigned char>(padded[k + 2]) << 16 | 0x3ULL << 24;
      add(dim_of(packed * 0x9e3779b97f4a7c15ULL), kCharWeight);
    }
  }
}

}  // namespace

HashedNgramEmbedder::HashedNgramEmbedder(const std::vector<std::string>& idf_corpus)
    : idf_(kDims, 0.0f) {
  std::vector<std::uint32_t> df(kDims, 0);
  std::vector<std::uint32_t> seen_in(kDims, 0);
  std::uint32_t document = 0;
  for (const auto& text : idf_corpus) {
    ++document;
    for_each_ngram(text, [&](std::uint32_t dim, float) {
      if (seen_in[dim] != document) {
        seen_in[dim] = document;
        ++df[dim];
      }
    });
  }
  const double n = static_cast<double>(idf_corpus.size());
  idf_squared_.resize(kDims);
  for (std::uint32_t d = 0; d < kDims; ++d) {
    idf_[d] = static_cast<float>(std::log((n + 1.0) / (df[d] + 1.0)) + 1.0);
    idf_squared_[d] = idf_[d] * idf_[d];
  }
}

SparseVector HashedNgramEmbedder::embed(std::string_view text) const {
  std::array<float, kDims> tf{};
  for_each_ngram(text, [&](std::uint32_t dim, float weight) { tf[dim] += weight; });
  SparseVector out;
  double norm = 0;
  for (std::uint32_t d = 0; d < kDims; ++d) {
    if (tf[d] == 0.0f) continue;
    const float w = std::sqrt(tf[d]) * idf_[d];
    out.emplace_back(d, w);
    norm += static_cast<double>(w) * w;
  }
  if (norm > 0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (auto& entry : out) entry.second *= inv;
  }
  return out;
}

float HashedNgramEmbedder::term_frequencies(std::string_view text, std::span<float> tf) const {
  // Branch-free scatter; the norm of sqrt(tf) * idf is sum(tf * idf^2), so no list of touched
  // dimensions and no square roots are needed for it.
  for_each_ngram(text, [&](std::uint32_t dim, float weight) { tf[dim] += weight; });
  float partial[8] = {};
  for (std::uint32_t d = 0; d < kDims; d += 8) {
    for (std::uint32_t k = 0; k < 8; ++k) partial[k] += tf[d + k] * idf_squared_[d + k];
  }
  float norm_squared = 0;
  for (float p : partial) norm_squared += p;
  return norm_squared > 0 ? 1.0f / std::sqrt(norm_squared) : 0.0f;
}

double cosine(const SparseVector& a, const SparseVector& b) {
  double dot = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first < b[j].first) {
      ++i;
    } else if (a[i].first > b[j].first) {
      ++j;
    } else {
      dot += static_cast<double>(a[i].second) * b[j].second;
      ++i;
      ++j;
    }
  }
  return std::clamp(dot, 0.0, 1.0);
}

namespace {

std::vector<std::string> all_utterances(const std::vector<SemanticSet>& sets) {
  std::vector<std::string> out;
  for (const auto& set : sets) out.insert(out.end(), set.utterances.begin(), set.utterances.end());
  return out;
}

}  // namespace

SemanticIndex::SemanticIndex(std::vector<SemanticSet> sets,
                             std::shared_ptr<const TextEmbedder> embedder)
    : embedder_(std::move(embedder)),
      local_(dynamic_cast<const HashedNgramEmbedder*>(embedder_.get())) {
  for (auto& set : sets) {
    Embedded embedded{std::move(set.name), set.threshold, {}};
    for (const auto& utterance : set.utterances) {
      embedded.utterances.push_back(embedder_->embed(utterance));
    }
    sets_.push_back(std::move(embedded));
  }
}

SemanticIndex::SemanticIndex(std::vector<SemanticSet> sets)
    : SemanticIndex(sets, std::make_shared<const HashedNgramEmbedder>(all_utterances(sets))) {}

namespace {

constexpr std::size_t kSegmentBytes = 200;
// A segment's similarity counts a little less than the whole text's: a few words match an
// example more easily than a whole prompt does.
constexpr double kSegmentWeight = 0.9;

bool ends_sentence(char c) {
  return c == '.' || c == '?' || c == '!' || c == ':' || c == '\n';
}

std::size_t word_count(std::string_view text) {
  std::size_t words = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    words += is_token_byte(text[i]) && (i == 0 || !is_token_byte(text[i - 1]));
  }
  return words;
}

// The first and the last sentence of a long text, at most kSegmentBytes each: where people say
// what they want ("tl;dr of this article please: <the article>"), which the whole text's
// vector dilutes with what they pasted. Empty for a short text, or a sentence of under three
// words.
std::array<std::string_view, 2> instruction_segments(std::string_view text) {
  std::array<std::string_view, 2> out{};
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  if (text.size() <= kSegmentBytes + kSegmentBytes / 2) return out;
  // The head runs to the first sentence end that leaves it three words ("Task: summarize
  // this." is one segment, not "Task").
  std::size_t head_end = 0;
  while (head_end < kSegmentBytes &&
         !(ends_sentence(text[head_end]) && word_count(text.substr(0, head_end)) >= 3)) {
    ++head_end;
  }
  out[0] = text.substr(0, head_end);
  // The tail starts after the last sentence end before the text's own closing marks ("?!",
  // "...", ".)", "?\"").
  std::size_t close = text.size();
  while (close > 0 && !is_token_byte(text[close - 1])) --close;
  std::size_t tail_start = close;
  while (tail_start > 0 && text.size() - tail_start < kSegmentBytes &&
         !ends_sentence(text[tail_start - 1])) {
    --tail_start;
  }
  out[1] = text.substr(tail_start);
  for (auto& segment : out) {
    if (word_count(segment) < 3) segment = {};
  }
  return out;
}

}  // namespace

std::vector<SemanticScore> SemanticIndex::score(std::string_view text,
                                                const std::vector<bool>* wanted) const {
  std::vector<SemanticScore> out;
  std::vector<const Embedded*> scored;
  for (std::size_t s = 0; s < sets_.size(); ++s) {
    if (is_wanted(wanted, s)) scored.push_back(&sets_[s]);
  }
  if (scored.empty()) return out;
  if (local_ != nullptr) {
    for (const Embedded* set : scored) out.push_back({set->name, 0.0, set->threshold});
    const auto add_scores_of = [&](std::string_view part, double weight) {
      std::array<float, HashedNgramEmbedder::kDims> tf{};
      const float inverse_norm = local_->term_frequencies(part, tf);
      for (std::size_t s = 0; s < scored.size(); ++s) {
        for (const auto& utterance : scored[s]->utterances) {
          double dot = 0;
          for (const auto& [dim, w] : utterance) {
            if (tf[dim] != 0.0f) dot += std::sqrt(tf[dim]) * local_->idf(dim) * w;
          }
          out[s].score = std::max(out[s].score, weight * std::clamp(dot * inverse_norm, 0.0, 1.0));
        }
      }
    };
    add_scores_of(text, 1.0);
    for (const std::string_view segment : instruction_segments(text)) {
      if (!segment.empty()) add_scores_of(segment, kSegmentWeight);
    }
    return out;
  }
  const SparseVector query = embedder_->embed(text);
  for (const Embedded* set : scored) {
    double best = 0;
    for (const auto& utterance : set->utterances) best = std::max(best, cosine(query, utterance));
    out.push_back({set->name, best, set->threshold});
  }
  return out;
}

}  // namespace llm_router::analyzer
