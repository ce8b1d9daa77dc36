#pragma once
// Finding a hardware profile by the name people write: a table id
// ("rtx_3060_12gb"), the display name ("GeForce RTX 3060 12GB"), or a short
// form ("RTX 3060", "A100 40GB", "M2 Pro 16GB", "t4", "3060ti").
//
// Matching, in order:
//  1. the id, ignoring case and treating ' ', '-' and '_' alike;
//  2. the words of the name: both sides are split into words at spaces and
//     punctuation and between letters and digits ("M2 Pro 16GB" -> m 2 pro 16
//     gb), vendor words (NVIDIA, GeForce, Tesla, Apple) dropped; a profile
//     matches when it has every word of the query;
//  3. one match is the answer; several are resolved by `usual_choices`, the
//     card a bare name means in practice (an "RTX 3060" is the 12 GB card, the
//     one the seed notes and most shops sell; the 8 GB variant came later,
//     in 2022), and the result says which and names the others; several that
//     no rule resolves are an ambiguity listing them;
//  4. no match: the closest ids and names by edit distance.
// This header does not include xsimd.

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qmath/devices/catalog.hpp"
#include "qmath/devices/device.hpp"

namespace qmath::devices {

struct lookup_result {
  std::optional<device> found;
  // Set when a name that several profiles share was resolved to one:
  // "RTX 3060 = GeForce RTX 3060 12GB (rtx_3060_12gb), the 12 GB card; also rtx_3060_8gb, ..."
  std::string note;
  // No profile, or several: the candidates (ambiguous) or the closest names
  // (unknown), best first, at most five.
  std::vector<std::string_view> suggestions;
  bool ambiguous = false;
};

// A bare name and the profile it means, with why.
struct usual_choice {
  std::string_view query_words;  // the normalized query, words joined by ' '
  std::string_view id;
  std::string_view why;
};

// The card people mean by a bare name.
inline constexpr std::array usual_choices{
    usual_choice{"rtx 3060", "rtx_3060_12gb",
                 "the 12 GB card (2021; the 8 GB variant of 2022 is rtx_3060_8gb)"},
    usual_choice{"rtx 3080", "rtx_3080_10gb", "the 10 GB launch card (the 2022 refresh is rtx_3080_12gb)"},
    usual_choice{"rtx 4060 ti", "rtx_4060_ti_16gb", "the 16 GB card (the 8 GB one is rtx_4060_ti_8gb)"},
    usual_choice{"a 100 40 gb", "a100_sxm4_40gb",
                 "the SXM4 module of cloud instances (the PCIe card, a100_pcie_40gb, has the same memory)"},
    usual_choice{"a 100 80 gb", "a100_sxm4_80gb",
                 "the SXM4 module of cloud instances (the PCIe card, a100_pcie_80gb, has the same memory)"},
    usual_choice{"a 100", "a100_sxm4_40gb",
                 "the 40 GB SXM4 module (say \"A100 80GB\" for the 80 GB one)"},
    usual_choice{"h 100", "h100_sxm5_80gb", "the SXM5 module (the PCIe card is h100_pcie_80gb)"},
    usual_choice{"v 100", "v100_sxm2_16gb",
                 "the 16 GB SXM2 module of AWS p3 instances (32 GB: v100_sxm2_32gb)"},
    usual_choice{"v 100 16 gb", "v100_sxm2_16gb", "the SXM2 module of AWS p3 instances"},
    usual_choice{"v 100 32 gb", "v100_sxm2_32gb", "the SXM2 module"},
    usual_choice{"p 100", "p100_pcie_16gb", "the 16 GB PCIe card (Kaggle's P100)"},
    usual_choice{"p 100 16 gb", "p100_pcie_16gb", "the PCIe card (Kaggle's P100)"},
};

namespace detail {

inline bool is_vendor_word(std::string_view w) noexcept {
  return w == "nvidia" || w == "geforce" || w == "tesla" || w == "apple";
}

// Lower-case words, split at non-alphanumerics and at letter/digit changes.
inline std::vector<std::string> name_words(std::string_view s) {
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    if (!current.empty() && !is_vendor_word(current)) words.push_back(current);
    current.clear();
  };
  for (const char raw : s) {
    const auto c = static_cast<unsigned char>(raw);
    if (!std::isalnum(c)) {
      flush();
      continue;
    }
    const char lc = static_cast<char>(std::tolower(c));
    if (!current.empty() && (std::isdigit(static_cast<unsigned char>(current.back())) != 0) != (std::isdigit(c) != 0))
      flush();
    current.push_back(lc);
  }
  flush();
  return words;
}

inline std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

inline std::string normalized_id(std::string_view s) {
  std::string out;
  for (const char raw : s) {
    const auto c = static_cast<unsigned char>(raw);
    out.push_back(raw == ' ' || raw == '-' ? '_' : static_cast<char>(std::tolower(c)));
  }
  return out;
}

inline bool has_all_words(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  return std::all_of(want.begin(), want.end(),
                     [&](const std::string& w) { return std::find(have.begin(), have.end(), w) != have.end(); });
}

}  // namespace detail

// Levenshtein distance between two strings, ignoring case. Used for "did you
// mean" suggestions of devices here and of models by the tools.
inline std::size_t name_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Up to `limit` of `names` closest to `query` (distance to the whole name, or
// to its prefix of the query's length when that is closer), best first.
inline std::vector<std::string_view> closest_names(std::string_view query, const std::vector<std::string_view>& names,
                                                   std::size_t limit = 5) {
  // (distance, position): ties keep the table's order
  std::vector<std::pair<std::size_t, std::size_t>> scored;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string_view n = names[i];
    std::size_t d = name_distance(query, n);
    if (n.size() > query.size()) d = std::min(d, name_distance(query, n.substr(0, query.size())) + 1);
    scored.emplace_back(d, i);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string_view> out;
  const std::size_t cutoff = std::max<std::size_t>(3, query.size() / 2);
  for (const auto& [d, i] : scored) {
    const std::string_view n = names[i];
    if (out.size() == limit || d > cutoff) break;
    out.push_back(n);
  }
  return out;
}

// The profile a user means by `query`, from `table` (the catalog by default).
template <std::size_t N>
inline lookup_result lookup(std::string_view query, const std::array<device, N>& table) {
  lookup_result r;
  const std::string id = detail::normalized_id(query);
  for (const auto& d : table)
    if (d.id == id) {
      r.found = d;
      return r;
    }
  const std::vector<std::string> want = detail::name_words(query);
  if (want.empty()) return r;
  std::vector<const device*> matches;
  for (const auto& d : table) {
    auto have = detail::name_words(d.name);
    const auto id_words = detail::name_words(d.id);
    have.insert(have.end(), id_words.begin(), id_words.end());
    if (detail::has_all_words(have, want)) matches.push_back(&d);
  }
  // A query that spells a whole display name exactly means that profile
  // ("RTX 3090" is not also the 3090 Ti).
  for (const device* d : matches)
    if (detail::name_words(d->name) == want) {
      r.found = *d;
      return r;
    }
  if (matches.size() == 1) {
    r.found = *matches.front();
    return r;
  }
  const std::string key = detail::joined(want);
  if (!matches.empty()) {
    for (const auto& c : usual_choices) {
      if (c.query_words != key) continue;
      for (const device* d : matches)
        if (d->id == c.id) {
          r.found = *d;
          r.note = std::string(query) + " = " + std::string(d->name) + " (" + std::string(d->id) + "), " +
                   std::string(c.why);
          for (const device* other : matches)
            if (other != d) r.suggestions.push_back(other->id);
          return r;
        }
    }
    r.ambiguous = true;
    for (const device* d : matches)
      if (r.suggestions.size() < 8) r.suggestions.push_back(d->id);
    return r;
  }
  std::vector<std::string_view> names;
  for (const auto& d : table) {
    names.push_back(d.id);
    names.push_back(d.name);
  }
  for (const auto n : closest_names(query, names, 10)) {
    // report ids only, once each
    for (const auto& d : table)
      if ((d.id == n || d.name == n) && std::find(r.suggestions.begin(), r.suggestions.end(), d.id) ==
                                            r.suggestions.end()) {
        r.suggestions.push_back(d.id);
        break;
      }
    if (r.suggestions.size() == 5) break;
  }
  return r;
}

inline lookup_result lookup(std::string_view query) { return lookup(query, all); }

}  // namespace qmath::devices
