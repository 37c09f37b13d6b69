// Hexadecimal text of bytes: two digits per byte, most significant nibble first, and the
// reverse. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace openbits {

// Letter case of the digits a-f. Each caller keeps the case its output always had: GUIDs and
// the CLI's dump are upper case, hashes and the RPC's reply data lower case.
enum class HexCase { kLower, kUpper };

// Appends the two digits of `byte` to `out`.
void append_hex(std::string& out, std::uint8_t byte, HexCase letters = HexCase::kLower);

std::string hex_encode(std::span<const std::uint8_t> bytes, HexCase letters = HexCase::kLower);
std::string hex_encode(std::string_view bytes, HexCase letters = HexCase::kLower);

// The value (0-15) of one hex digit of either case; -1 for any other character.
int hex_value(char c);

// The bytes of an even number of hex digits of either case; nullopt for an odd length or a
// character that is not a digit.
std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view hex);

}  // namespace openbits
