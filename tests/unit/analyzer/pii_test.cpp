#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::analyzer {
namespace {

struct PiiCase {
  const char* name;
  const char* text;
  PiiKind kind;
  int expected;
};

class PiiDetection : public ::testing::TestWithParam<PiiCase> {};

TEST_P(PiiDetection, CountsKind) {
  const auto& c = GetParam();
  const PiiCounts counts = detect_pii(c.text);
  EXPECT_EQ(counts[static_cast<std::size_t>(c.kind)], c.expected) << c.name << ": " << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PiiDetection,
    ::testing::Values(
        PiiCase{"email in angle brackets", "From: Jane <jane.doe@example.co.uk>", PiiKind::email,
                1},
        PiiCase{"two emails", "a.b@x.io, c+tag@y.org.", PiiKind::email, 2},
        PiiCase{"no dot in domain", "root@localhost", PiiKind::email, 0},
        PiiCase{"one-letter tld", "a@b.c", PiiKind::email, 0},
        PiiCase{"mention", "@jane said hi", PiiKind::email, 0},
        PiiCase{"card with spaces", "card 4111 1111 1111 1111 exp 12/29", PiiKind::credit_card, 1},
        PiiCase{"card with dashes", "5500-0000-0000-0004", PiiKind::credit_card, 1},
        PiiCase{"card plain", "pay with 378282246310005 now", PiiKind::credit_card, 1},
        PiiCase{"luhn failure", "4111-1111-1111-1112", PiiKind::credit_card, 0},
        PiiCase{"longer digit run", "41111111111111111111111", PiiKind::credit_card, 0},
        PiiCase{"inside a word", "ref4111111111111111", PiiKind::credit_card, 0},
        PiiCase{"iban spaced", "IBAN: DE89 3704 0044 0532 0130 00 please", PiiKind::iban, 1},
        PiiCase{"iban compact", "GB82WEST12345698765432", PiiKind::iban, 1},
        PiiCase{"iban bad check digits", "DE88 3704 0044 0532 0130 00", PiiKind::iban, 0},
        PiiCase{"ssn", "my SSN is 123-45-6789.", PiiKind::us_ssn, 1},
        PiiCase{"ssn area 000", "000-12-3456", PiiKind::us_ssn, 0},
        PiiCase{"ssn without dashes, named", "my social security number is 123456789",
                PiiKind::us_ssn, 1},
        PiiCase{"ssn with spaces, named", "SSN: 123 45 6789", PiiKind::us_ssn, 1},
        PiiCase{"nine digits, not named", "order 123456789 shipped", PiiKind::us_ssn, 0},
        PiiCase{"named but area 9xx", "SSN 987654321", PiiKind::us_ssn, 0},
        PiiCase{"ssn area 666", "666-12-3456", PiiKind::us_ssn, 0},
        PiiCase{"date is not ssn", "2024-01-15", PiiKind::us_ssn, 0},
        PiiCase{"e164", "call +1 415 555 2671", PiiKind::phone, 1},
        PiiCase{"e164 uk", "+44 20 7946 0958", PiiKind::phone, 1},
        PiiCase{"us parens", "(415) 555-2671", PiiKind::phone, 1},
        PiiCase{"us dashes then dot", "call 415-555-2671.", PiiKind::phone, 1},
        PiiCase{"us dots", "415.555.2671", PiiKind::phone, 1},
        PiiCase{"years", "between 2023 and 2024, or 1999-2004", PiiKind::phone, 0},
        PiiCase{"price", "it costs $1,299.99 or 1 299 euros", PiiKind::phone, 0},
        PiiCase{"timestamp", "epoch 1700000000", PiiKind::phone, 0},
        PiiCase{"ipv4 with port", "server 192.168.1.20:8080", PiiKind::ip_address, 1},
        PiiCase{"version string", "version 1.2.3.4.5", PiiKind::ip_address, 0},
        PiiCase{"four-part version", "Use version 1.2.3.4 of the SDK", PiiKind::ip_address, 0},
        PiiCase{"uk mobile", "my number is 07700 900123, text me", PiiKind::phone, 1},
        PiiCase{"london", "call 020 7946 0958 today", PiiKind::phone, 1},
        PiiCase{"french mobile", "appelez le 06 12 34 56 78", PiiKind::phone, 1},
        PiiCase{"zero-led id run", "order 0012 3456 7890", PiiKind::phone, 0},
        PiiCase{"dotted zero-led", "see 07700.900123", PiiKind::phone, 0},
        PiiCase{"build number", "Build: 10.0.19041.1 crashes", PiiKind::ip_address, 0},
        PiiCase{"address after a word", "the host 10.0.19.1 is down", PiiKind::ip_address, 1},
        PiiCase{"bad octet", "999.1.1.1", PiiKind::ip_address, 0},
        PiiCase{"openai key", "key sk-proj-abcdefghijklmnopqrstuvwxyz012345", PiiKind::api_key, 1},
        PiiCase{"aws key id", "AKIAIOSFODNN7EXAMPLE", PiiKind::api_key, 1},
        PiiCase{"github token", "ghp_abcdefghijklmnopqrstuvwxyzABCDEF123456", PiiKind::api_key, 1},
        PiiCase{"slack token", "xoxb-1234567890-abcdefghijkl", PiiKind::api_key, 1},
        PiiCase{"pem private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n", PiiKind::api_key,
                1},
        PiiCase{"stripe restricted key", "rk_live_51HqLyjWDarjtT1zdp7dcXYZ012345", PiiKind::api_key,
                1},
        PiiCase{"hugging face token", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", PiiKind::api_key, 1},
        PiiCase{"certificate is public", "-----BEGIN CERTIFICATE-----\nMIIB", PiiKind::api_key, 0},
        PiiCase{"high entropy token", "token=Zx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3Fg5Jb0CeUa", PiiKind::api_key,
                1},
        PiiCase{"git sha", "commit 3f786850e387550fdab836ed7e6dc881de23001b", PiiKind::api_key, 0},
        PiiCase{"long word", "supercalifragilisticexpialidocious_and_more_words", PiiKind::api_key,
                0},
        PiiCase{"short sk", "sk-short", PiiKind::api_key, 0},
        // Disguises a reader does not see: zero-width space, soft hyphen, no-break and double
        // spaces, en dashes, full-width and Arabic-Indic digits.
        PiiCase{"card with a zero-width space", "4111\u200b1111 1111 1111", PiiKind::credit_card,
                1},
        PiiCase{"card with no-break spaces", "4111\u00a01111\u00a01111\u00a01111",
                PiiKind::credit_card, 1},
        PiiCase{"card with double spaces", "4111  1111  1111  1111", PiiKind::credit_card, 1},
        PiiCase{"card with en dashes", "4111\u20131111\u20131111\u20131111", PiiKind::credit_card,
                1},
        PiiCase{"full-width card",
                "\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"
                "\uff11\uff11\uff11\uff11",
                PiiKind::credit_card, 1},
        PiiCase{"ssn in arabic-indic digits",
                "SSN \u0661\u0662\u0663-\u0664\u0665-\u0666"
                "\u0667\u0668\u0669",
                PiiKind::us_ssn, 1},
        PiiCase{"card with direction marks",
                "\u05db\u05e8\u05d8\u05d9\u05e1 4111\u200e 1111\u200e 1111\u200e 1111",
                PiiKind::credit_card, 1},
        PiiCase{"iban with a right-to-left mark", "IBAN IL62\u200f 0108 0000 0009 9999 999",
                PiiKind::iban, 1},
        PiiCase{"card in direction isolates", "\u20664111 1111\u2069 \u20661111 1111\u2069",
                PiiKind::credit_card, 1},
        PiiCase{"card with prolonged sound marks",
                "\u30ab\u30fc\u30c9\uff14\uff11\uff11\uff11\u30fc\uff11\uff11\uff11\uff11"
                "\u30fc\uff11\uff11\uff11\uff11\u30fc\uff11\uff11\uff11\uff11",
                PiiKind::credit_card, 1},
        PiiCase{"email with a soft hyphen", "jane\u00ad.doe@example.com", PiiKind::email, 1},
        PiiCase{"internationalized email", "write to jos\u00e9@m\u00fcnchen.de", PiiKind::email, 1},
        PiiCase{"cyrillic domain", "info@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
                PiiKind::email, 1},
        PiiCase{"lower-case iban", "iban de89 3704 0044 0532 0130 00", PiiKind::iban, 1},
        PiiCase{"no such iban country", "XX89 3704 0044 0532 0130 00", PiiKind::iban, 0},
        // An id that passes Luhn but that no card network issues.
        PiiCase{"luhn-valid id", "order 1234 5678 9012 3452", PiiKind::credit_card, 0},
        PiiCase{"gitlab token", "glpat-abcdefghijklmnopqrst", PiiKind::api_key, 1},
        PiiCase{"mailgun key", "MAILGUN_API_KEY=key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
                PiiKind::api_key, 1},
        PiiCase{"a slug after key-", "see key-management-and-rotation-policy-for-all-teams",
                PiiKind::api_key, 0},
        PiiCase{"password in a url", "DATABASE_URL=postgres://admin:S3cr3t!@db:5432/app",
                PiiKind::api_key, 1},
        PiiCase{"url without a password", "https://user@example.com/x", PiiKind::api_key, 0},
        PiiCase{"token as a url's user",
                "clone https://ghp_1234567890abcdefghijklmnopqrstuvwxyzAB@github.com/acme/notes",
                PiiKind::api_key, 1},
        PiiCase{"random token as a url's user",
                "POST to https://q8ZtR4vLm2Xk9PwB7nJc3YhT6sDf1GaE@hooks.example.com/in",
                PiiKind::api_key, 1},
        PiiCase{"plain login as a url's user", "ssh://deploy-bot@git.example.com:2222/repo.git",
                PiiKind::api_key, 0},
        PiiCase{
            "integrity hash",
            R"("integrity": "sha512-Zx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3Fg5Jb0CeUaZx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3")",
            PiiKind::api_key, 0},
        PiiCase{"data uri",
                "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUl",
                PiiKind::api_key, 0},
        PiiCase{"coordinate", "lat=+37.7749295 lon=-122.4194155", PiiKind::phone, 0},
        PiiCase{"dotted e164", "call +1.415.555.2671", PiiKind::phone, 1},
        PiiCase{"bare e164", "call +14155552671 now", PiiKind::phone, 1},
        // CJK text runs on without spaces: only the address is one.
        PiiCase{"email in chinese text", "\u90ae\u7bb1\u662fivan@mail.ru\u3002\u8c22\u8c22",
                PiiKind::email, 1},
        PiiCase{"at sign in a japanese price", "\u4fa1\u683c@100\u5186.\u7a0e\u8fbc",
                PiiKind::email, 0},
        PiiCase{"compact lower-case iban", "de89370400440532013000", PiiKind::iban, 1},
        PiiCase{"port and query are no password", "http://host:8080?r=a@b", PiiKind::api_key, 0},
        PiiCase{"tab-separated columns", "4111\t1111\t1111\t1111", PiiKind::credit_card, 0},
        PiiCase{"card grouped with dots", "card 4111.1111.1111.1111 exp 12/29",
                PiiKind::credit_card, 1},
        PiiCase{"dotted groups of another size", "2024.11.1111.1111", PiiKind::credit_card, 0},
        PiiCase{"order id passing luhn", "order id 4532015112830366 shipped", PiiKind::credit_card,
                0},
        PiiCase{"invoice number passing luhn", "Invoice #4532015112830366", PiiKind::credit_card,
                0},
        PiiCase{"card after a plain word", "pay with 4532015112830366", PiiKind::credit_card, 1},
        PiiCase{"ssn named as social", "my social is 536 22 1234", PiiKind::us_ssn, 1},
        PiiCase{"social media is no ssn", "social media posts: 536 22 1234", PiiKind::us_ssn, 0},
        PiiCase{"card after a reference", "for reference: 4532015112830366", PiiKind::credit_card,
                1},
        PiiCase{"german mobile", "mein Handy: 0151 23456789", PiiKind::phone, 1},
        PiiCase{"area code in parentheses", "call (02) 9876 5432 in Sydney", PiiKind::phone, 1},
        PiiCase{"package slug after sk-", "sk-learn-compatible-estimators-wrapper",
                PiiKind::api_key, 0},
        PiiCase{"service account key", "sk-svcacct-Eyeffvlt5W8FWt7V1kUpQx", PiiKind::api_key, 1},
        PiiCase{"base64 of a sentence", "VGhpcyBpcyBqdXN0IGEgdGVzdCBzdHJpbmcgZm9yIGVuY29kaW5n",
                PiiKind::api_key, 0},
        PiiCase{"base64 of credentials",
                "dXNlcm5hbWU6c3VwZXJTZWNyZXRQYXNzd29yZDEyMw==", PiiKind::api_key, 1},
        PiiCase{"international prefix 00", "ruf an: 0049 30 1234567", PiiKind::phone, 1},
        PiiCase{"spaced international prefix", "call 00 44 20 7946 0958", PiiKind::phone, 1},
        PiiCase{"order number is", "my order number is 4532015112830366", PiiKind::credit_card, 0},
        PiiCase{"reference number", "reference number 4532015112830366", PiiKind::credit_card, 0},
        PiiCase{"account number", "account no. 4532015112830366 is locked", PiiKind::credit_card,
                0},
        PiiCase{"ean barcode", "EAN 5901234123457", PiiKind::credit_card, 0},
        PiiCase{"a list after the 00 prefix", "00 10 20 30 40 50", PiiKind::phone, 0},
        PiiCase{"a sentence's stop before a card", "cancel my order. 4111 1111 1111 1111 is it",
                PiiKind::credit_card, 1},
        // A number beside another in one run: each read on its own.
        PiiCase{"card beside its cvv", "card 4111111111111111 123 exp 12/29", PiiKind::credit_card,
                1},
        PiiCase{"grouped card beside its expiry", "4111 1111 1111 1111 12 29", PiiKind::credit_card,
                1},
        PiiCase{"card groups after a number of their size", "1000 4111 1111 1111 1111",
                PiiKind::credit_card, 0},
        PiiCase{"amex groups beside a number", "amex 3782 822463 10005 100", PiiKind::credit_card,
                1},
        PiiCase{"two cards in a row", "4111111111111111 5500000000000004", PiiKind::credit_card, 2},
        PiiCase{"card before letters", "4111111111111111 123abc", PiiKind::credit_card, 1},
        PiiCase{"phone after an order number", "Order 5521 212-867-5309", PiiKind::phone, 1},
        PiiCase{"ssn beside a year", "born 1990 123-45-6789", PiiKind::us_ssn, 1},
        PiiCase{"named record beside a number", "order id 4532015112830366 12",
                PiiKind::credit_card, 0},
        PiiCase{"card groups inside a list of numbers", "1000 4111 1111 1111 1111 1000",
                PiiKind::credit_card, 0},
        PiiCase{"a list of small numbers", "12 34 56 78 90 12 34", PiiKind::phone, 0},
        PiiCase{"ipv6 compressed", "our IPv6 is 2001:db8:85a3::8a2e:370:7334", PiiKind::ip_address,
                1},
        PiiCase{"ipv6 full", "from 2001:0db8:85a3:0000:0000:8a2e:0370:7334 today",
                PiiKind::ip_address, 1},
        PiiCase{"ipv6 link-local in brackets", "http://[fe80::1ff:fe23:4567:890a]:8080/",
                PiiKind::ip_address, 1},
        PiiCase{"ipv6 loopback", "bind to ::1 only", PiiKind::ip_address, 0},
        PiiCase{"c++ scope", "use std::vector and abc::def::f()", PiiKind::ip_address, 0},
        PiiCase{"python slice", "take a[10::2] and b[1:2:3]", PiiKind::ip_address, 0},
        PiiCase{"clock time", "at 10:30:45 or 12:00", PiiKind::ip_address, 0},
        PiiCase{"mac address", "mac 00:1A:2B:3C:4D:5E", PiiKind::ip_address, 0},
        PiiCase{"plugin version", "the plugin 2.3.1.4 broke", PiiKind::ip_address, 0},
        PiiCase{"email spelled out", "write to me at firstname dot lastname at gmail dot com",
                PiiKind::email, 1},
        PiiCase{"email in brackets", "jane.doe[at]example[dot]org", PiiKind::email, 1},
        PiiCase{"email with spaced brackets", "mail jane (at) example.co.uk today", PiiKind::email,
                1},
        PiiCase{"a site after at", "I work at example.com and live at home", PiiKind::email, 0},
        PiiCase{"a site spelled after prose", "sign up at example dot com", PiiKind::email, 0},
        PiiCase{"at in prose", "look at the dot on the map at noon", PiiKind::email, 0},
        // Numbers after punctuation, in URLs and in records (the twenty-third session's review).
        PiiCase{"card in parentheses", "charged twice on my Visa (4111 1111 1111 1111) today",
                PiiKind::credit_card, 1},
        PiiCase{"ssn in parentheses", "spouse Luis Ortiz (212-55-0143)", PiiKind::us_ssn, 1},
        PiiCase{"ip in parentheses", "The primary (10.20.0.11) failed over", PiiKind::ip_address,
                1},
        PiiCase{"ip as a url's host", "curl http://10.0.4.21:3000/health", PiiKind::ip_address, 1},
        PiiCase{"ip as java prints it", "refused to /10.12.4.77:8443 for", PiiKind::ip_address, 1},
        PiiCase{"loopback is no one's", "proxy_pass http://127.0.0.1:3000;", PiiKind::ip_address,
                0},
        PiiCase{"a number in a path", "GET /2024/01/15 and /10.0.0.1", PiiKind::ip_address, 1},
        PiiCase{"card number in json", R"({"card_number": "5109529359594592", "cvc": "918"})",
                PiiKind::credit_card, 1},
        PiiCase{"id in json", R"({"id": 4101391937865940})", PiiKind::credit_card, 0},
        PiiCase{"policy number", "Policy number 4532015112830366", PiiKind::credit_card, 0},
        PiiCase{"loyalty card", "Loyalty card 4532015112830366", PiiKind::credit_card, 0},
        PiiCase{"sku", "SKU 4532015112830366 is back", PiiKind::credit_card, 0},
        PiiCase{"13 digits without a card word", "EAN 4006381333931", PiiKind::credit_card, 0},
        PiiCase{"13-digit visa named", "visa 4222222222222", PiiKind::credit_card, 1},
        PiiCase{"iban groups are no card", "IBAN DE75 5121 0800 1245 1261 99", PiiKind::credit_card,
                0},
        PiiCase{"drug codes", "NDC 0002-3227-30, 0777-3105-02", PiiKind::phone, 0},
        PiiCase{"part number", "Bosch 0258 006 028", PiiKind::phone, 0},
        PiiCase{"australian mobile", "ring me on 0412 345 678", PiiKind::phone, 1},
        PiiCase{"british mobile in threes", "new one is 07700 900 123", PiiKind::phone, 1},
        PiiCase{"a count with a plus", "+18234567 users this year", PiiKind::phone, 0},
        PiiCase{"a diff's csv line", "-20240101,42\n+20240102,43", PiiKind::phone, 0},
        PiiCase{"country code in parentheses", "Call me on (+44) 20 7946 0958", PiiKind::phone, 1},
        PiiCase{"a signed number in parentheses", "growth (+12.5) and (+37.7749295)",
                PiiKind::phone, 0},
        PiiCase{"indian number in halves", "my number is 098765 43210", PiiKind::phone, 1},
        PiiCase{"a phone word names a bare number", "call me at 5551234567 please", PiiKind::phone,
                1},
        PiiCase{"a phone word names pairs", "mi móvil es 612 34 56 78", PiiKind::phone, 1},
        PiiCase{"a phone word names a trunk number", "Phone: 0612345678", PiiKind::phone, 1},
        // Phone words of other scripts; in Chinese, Japanese and Korean the word is joined to
        // what follows it.
        PiiCase{"chinese mobile", "\u6211\u7684\u7535\u8bdd\u662f13812345678", PiiKind::phone, 1},
        PiiCase{"japanese mobile", "\u96fb\u8a71 09012345678", PiiKind::phone, 1},
        PiiCase{"korean mobile", "\uc804\ud654\ubc88\ud638\ub294 01012345678", PiiKind::phone, 1},
        PiiCase{"russian mobile", "\u0442\u0435\u043b\u0435\u0444\u043e\u043d 8 (912) 345-67-89",
                PiiKind::phone, 1},
        PiiCase{"arabic mobile", "\u0647\u0627\u062a\u0641 0501234567", PiiKind::phone, 1},
        PiiCase{"hebrew mobile", "\u05d8\u05dc\u05e4\u05d5\u05df 0501234567", PiiKind::phone, 1},
        PiiCase{"hindi mobile", "\u092b\u093c\u094b\u0928 9876543210", PiiKind::phone, 1},
        PiiCase{"vietnamese mobile",
                "\u0111i\u1ec7n tho\u1ea1i c\u1ee7a t\u00f4i l\u00e0 0912345678", PiiKind::phone,
                1},
        PiiCase{"a chinese count is no phone", "\u9500\u91cf\u8fbe\u523013812345678\u53f0",
                PiiKind::phone, 0},
        PiiCase{"a bare number without a phone word", "it took 5551234567 ns", PiiKind::phone, 0},
        PiiCase{"a phone word that counts something else",
                "Mobile revenue 3400000000 vs 2100000000", PiiKind::phone, 0},
        PiiCase{"a verb for a phone without its object", "The API call returned 2034567891 bytes",
                PiiKind::phone, 0},
        PiiCase{"a verb for a phone with its object", "You can reach me at 9876543210",
                PiiKind::phone, 1},
        PiiCase{"brazilian mobile", "me liga no (11) 98765-4321 ou manda", PiiKind::phone, 1},
        PiiCase{"brazilian landline", "fixo (21) 3344-5566", PiiKind::phone, 1},
        PiiCase{"versions moved between", "Upgrade the NuGet package from 6.0.0.1 to 8.0.2.0",
                PiiKind::ip_address, 0},
        PiiCase{"addresses moved between", "traffic from 10.0.0.1 to 10.0.0.2 was dropped",
                PiiKind::ip_address, 2},
        PiiCase{"ssh login", "ssh deploy@prod-web-01.internal hangs", PiiKind::email, 0},
        PiiCase{"ssh login after options",
                "ssh -i key.pem -p 2222 ubuntu@ec2-3-91.compute.example.com", PiiKind::email, 0},
        PiiCase{"scp target with a remote path", "scp file.txt admin@backup.corp:/srv",
                PiiKind::email, 0},
        PiiCase{"an address after prose naming ssh", "about the ssh key, write jane@example.com",
                PiiKind::email, 1},
        PiiCase{"a unix time after call", "API call at 1712345678", PiiKind::phone, 0},
        PiiCase{"a 32-bit limit after text", "text max 2147483647", PiiKind::phone, 0},
        PiiCase{"a record named after a phone word", "phone order number 5551234567",
                PiiKind::phone, 0},
        PiiCase{"a phone word far before",
                "call me later. Meanwhile order 77 shipped as 5551234567", PiiKind::phone, 0},
        PiiCase{"email encoded in a query", "/unsubscribe?email=jane.doe%40example.com&x=1",
                PiiKind::email, 1},
        PiiCase{"a percent sign before 40", "grew 25%40 times", PiiKind::email, 0},
        PiiCase{"section numbers", "see section 4.2.1.3 of the spec", PiiKind::ip_address, 0},
        PiiCase{"a product's version", "cuDNN 8.9.7.29 and TensorRT 8.6.1.6", PiiKind::ip_address,
                0},
        // Passwords as configs and command lines write them.
        PiiCase{"quoted password with symbols", R"({"password": "G7$kP!q92zLm"})", PiiKind::api_key,
                1},
        PiiCase{"connection string", "Server=db;Database=app;User Id=sa;Password=MyS3cret!2024;",
                PiiKind::api_key, 1},
        PiiCase{"odbc pwd", "DSN=app;UID=admin;PWD=Adm1n$2024;", PiiKind::api_key, 1},
        PiiCase{"shell pwd", "PWD=/home/alice/projects/app", PiiKind::api_key, 0},
        PiiCase{"env password", "PGPASSWORD=Vf9kLq2xR9 psql -h db", PiiKind::api_key, 1},
        PiiCase{"passphrase", "passphrase: correct-horse-9-battery", PiiKind::api_key, 1},
        PiiCase{"mysql -p", "mysql -u root -pK8s!Adm1n2024 app", PiiKind::api_key, 1},
        PiiCase{"mysql prompt", "mysql -u root -p app", PiiKind::api_key, 0},
        PiiCase{"sshpass", "sshpass -p 'Dr4gon!fly' ssh admin@10.0.0.5", PiiKind::api_key, 1},
        PiiCase{"curl user", "curl -u admin:W3lcome!2024 https://api.example.com", PiiKind::api_key,
                1},
        PiiCase{"basic auth", "Authorization: Basic YWRtaW46czNjcjN0IQ==", PiiKind::api_key, 1},
        PiiCase{"url password with #", "postgres://app_user:Vf9#kLq2!xR@prod-db.internal:5432/app",
                PiiKind::api_key, 1},
        PiiCase{"url password with # is no email",
                "postgres://app_user:Vf9#kLq2!xR@prod-db.internal:5432/app", PiiKind::email, 0},
        PiiCase{"secret's name", "secret: db-credentials-v2", PiiKind::api_key, 0},
        PiiCase{"placeholder key", "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                PiiKind::api_key, 0},
        PiiCase{"placeholder aws key", "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX", PiiKind::api_key,
                0},
        PiiCase{"go.sum hash",
                "golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=",
                PiiKind::api_key, 0},
        PiiCase{"ssh public key",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
                "alice@laptop",
                PiiKind::api_key, 0},
        PiiCase{"playlist id in a url",
                "https://www.youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
                PiiKind::api_key, 0},
        PiiCase{"key in a url", "https://x.io/v1?key=Zx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3Fg5Jb0CeUa",
                PiiKind::api_key, 1},
        PiiCase{"base64 json cursor",
                "next_cursor: eyJpZCI6IDEyMzQ1LCAiY3JlYXRlZF9hdCI6ICIyMDI0LTAzLTAxVDEwOjAwOjAwWiJ9",
                PiiKind::api_key, 0},
        PiiCase{"image at twice the scale", "use logo@2x.png on retina", PiiKind::email, 0},
        PiiCase{"git remote", "git clone git@github.com:acme/app.git", PiiKind::email, 0},
        PiiCase{"spelled domain with a hyphen", "privacy (at) northwind-traders (dot) com",
                PiiKind::email, 1},
        // From the review of the session's diff.
        PiiCase{"a site after a verb and at", "She worked at Google dot com for years",
                PiiKind::email, 0},
        PiiCase{"spelled address with a digit", "write to jdoe42 at example dot com",
                PiiKind::email, 1},
        PiiCase{"the number", "Here's the number: 4111 1111 1111 1111, exp 12/25",
                PiiKind::credit_card, 1},
        PiiCase{"charge this number", "Please charge this number 4111111111111111",
                PiiKind::credit_card, 1},
        PiiCase{"base64 json with a password",
                "echo eyJ1c2VyIjoiYWRtaW4iLCJwYXNzd29yZCI6Imh1bnRlcjIifQ== | base64 -d",
                PiiKind::api_key, 1},
        PiiCase{"an email after a url and a comma", "Contact https://example.com,admin@example.org",
                PiiKind::email, 1},
        PiiCase{"an email after a url and a bar", "|http://localhost:3000|jane@example.org|",
                PiiKind::email, 1},
        PiiCase{"odbc Pwd", "Uid=sa;Pwd=Secr3t!2024;", PiiKind::api_key, 1},
        PiiCase{"a card run into letters as a password", "password=4111111111111111abc",
                PiiKind::api_key, 1},
        // From a fresh holdout of 150 cases.
        PiiCase{"docker login -p",
                "sh 'docker login registry.acme.internal -u ci-bot -p Rg4!xTq9#bLm'",
                PiiKind::api_key, 1},
        PiiCase{"openai response ids", R"({"id": "chatcmpl-9pQ3fXkL2mN7vR8sT1uW4yZ6aB0cDeF"})",
                PiiKind::api_key, 0},
        PiiCase{
            "google document id",
            "https://docs.google.com/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit",
            PiiKind::api_key, 0},
        // Secrets named in prose or config, not code that computes them.
        PiiCase{"password in prose", "my password is Tr0ub4dor&3, is it strong?", PiiKind::api_key,
                1},
        PiiCase{"password in an env file", "DB_PASSWORD=hunter2", PiiKind::api_key, 1},
        PiiCase{"card given as a password", "password: 4111111111111111", PiiKind::api_key, 0},
        PiiCase{"card given as a password is a card", "password: 4111111111111111",
                PiiKind::credit_card, 1},
        PiiCase{"digits as a password", "my password is 90210377", PiiKind::api_key, 1},
        PiiCase{"quoted password in yaml", "password: \"s3cr3t!pw\"", PiiKind::api_key, 1},
        PiiCase{"hex auth token", "twilio auth token: 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                PiiKind::api_key, 1},
        PiiCase{"password read from a call", "password = getpass(\"Password: \")", PiiKind::api_key,
                0},
        PiiCase{"password from the environment", "password: process.env.DB_PASSWORD",
                PiiKind::api_key, 0},
        PiiCase{"word after password", "my password is incorrect", PiiKind::api_key, 0},
        PiiCase{"the shell's working directory", "PWD=/home/alice/projects/app", PiiKind::api_key,
                0},
        PiiCase{"masked password", "Password: ********", PiiKind::api_key, 0},
        PiiCase{"password comparison", "if password==stored_hash1:", PiiKind::api_key, 0},
        PiiCase{"reset link", "Reset password: https://example.com/r/abc123", PiiKind::api_key, 0},
        PiiCase{"email in a url's path", "https://example.com/team/jane.doe@gmail.com",
                PiiKind::email, 1},
        PiiCase{"token count", "max_tokens: 4096, token: 12345678901234567", PiiKind::api_key, 0},
        PiiCase{"connection string has no email",
                "mongodb+srv://admin:hunter2@cluster0.example.net", PiiKind::email, 0},
        PiiCase{"password-only user info has no email", "redis://:s3cr3tpass@cache.local:6379/0",
                PiiKind::email, 0},
        PiiCase{"mailto keeps its email", "mailto:jane.doe@example.com", PiiKind::email, 1},
        PiiCase{"base64 png is no key",
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg",
                PiiKind::api_key, 0}));

TEST(Luhn, KnownNumbers) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid(""));
  EXPECT_FALSE(luhn_valid("4111x111"));
}

TEST(Iban, CheckDigits) {
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("FR1420041010050500013M02606"));
  EXPECT_FALSE(iban_valid("DE89370400440532013001"));
  EXPECT_FALSE(iban_valid("DE89"));
}

TEST(Pii, PlainProseHasNone) {
  const PiiCounts counts =
      detect_pii("In 2021 we sold 3,400 units at $19.99 each; see section 4.2.1 of the report.");
  for (int count : counts) EXPECT_EQ(count, 0);
}

}  // namespace
}  // namespace llm_router::analyzer

namespace llm_router::analyzer {
namespace {

// scan_tokens skips 8-byte blocks that can hold neither a long token nor an IBAN's country
// code: keys and IBANs must be found at every offset, including across block edges and in the
// last partial block.
TEST(Pii, KeysAndIbansAtEveryAlignment) {
  const std::vector<std::pair<std::string, PiiKind>> secrets = {
      {"sk-abcdefghijklmnopqrstuvwxyz123456", PiiKind::api_key},
      {"AKIAABCDEFGHIJKLMNOP", PiiKind::api_key},
      {"aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3h", PiiKind::api_key},
      {"DE89 3704 0044 0532 0130 00", PiiKind::iban},
      {"GB82WEST12345698765432", PiiKind::iban},
  };
  for (const auto& [secret, kind] : secrets) {
    for (std::size_t pad = 0; pad < 17; ++pad) {
      for (const char* after : {"", " ok", ".\n", " and some more words after it"}) {
        const std::string text = "Note, " + std::string(pad, 'x') + " " + secret + after;
        EXPECT_EQ(detect_pii(text)[static_cast<std::size_t>(kind)], 1) << text;
      }
    }
  }
}

}  // namespace
}  // namespace llm_router::analyzer

namespace llm_router::analyzer {
namespace {

TEST(Pii, FindReportsWhereEachMatchIs) {
  const std::string text =
      "Mail .jane@x.io, call +1 (415) 555-2671, card 4111 1111 1111 1111, "
      "token=Zx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3Fg5Jb0CeUa==, IBAN DE89 3704 0044 0532 0130 00.";
  std::vector<std::pair<std::string, PiiKind>> found;
  for (const auto& m : find_pii(text)) {
    found.emplace_back(text.substr(m.begin, m.end - m.begin), m.kind);
  }
  const std::vector<std::pair<std::string, PiiKind>> expected = {
      {"jane@x.io", PiiKind::email},
      {"+1 (415) 555-2671", PiiKind::phone},
      {"4111 1111 1111 1111", PiiKind::credit_card},
      {"Zx8Qm2Lr9Tp4Vw7Ny1Ks6Hd3Fg5Jb0CeUa==", PiiKind::api_key},
      {"DE89 3704 0044 0532 0130 00", PiiKind::iban},
  };
  EXPECT_EQ(found, expected);
  // A disguised number is found where it is written, its invisible characters included, so
  // redaction covers all of it.
  const std::string disguised = "card 4111\u200b1111\u00a01111 \uff11\uff11\uff11\uff11 ok";
  const auto matches = find_pii(disguised);
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(disguised.substr(matches[0].begin, matches[0].end - matches[0].begin),
            "4111\u200b1111\u00a01111 \uff11\uff11\uff11\uff11");
}

TEST(Pii, JsonWebTokensAreSecretsWholly) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  const std::string text = "curl -H 'Authorization: Bearer " + jwt + "' https://api.example.com";
  const auto found = find_pii(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, PiiKind::api_key);
  EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), jwt);
  // Not a token: a version string, a single base64 part.
  EXPECT_EQ(
      detect_pii(
          "eyJhbGci.eyJzdWIi.abc and eyJ0eXAiOiJKV1Qi")[static_cast<std::size_t>(PiiKind::api_key)],
      0);
}

TEST(Pii, IdentifiersAreNotSecrets) {
  EXPECT_EQ(
      detect_pii("getUserAccountBalanceForCustomer2024Report(accountId)")[static_cast<std::size_t>(
          PiiKind::api_key)],
      0);
}

// The search for spelled addresses reads 16 positions per step: found wherever they fall.
TEST(Pii, SpelledAddressesAtEveryAlignment) {
  for (std::size_t pad = 0; pad < 40; ++pad) {
    for (const char* address : {"jane dot doe at example dot com", "jane[at]example.org"}) {
      const std::string text = std::string(pad, 'x') + " " + address;
      EXPECT_EQ(detect_pii(text)[static_cast<std::size_t>(PiiKind::email)], 1) << text;
    }
  }
}

// Certificates and public keys are published: their base64 is no key (a private key is).
TEST(Pii, PublicKeyMaterialIsNoSecret) {
  const std::string body =
      "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJRTESMBAGA1UE\n"
      "ChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYDVQQDExlCYWx0aW1vcmUg\n";
  EXPECT_EQ(detect_pii("-----BEGIN CERTIFICATE-----\n" + body +
                       "-----END CERTIFICATE-----")[static_cast<std::size_t>(PiiKind::api_key)],
            0);
  EXPECT_EQ(detect_pii("-----BEGIN PUBLIC KEY-----\n" + body +
                       "-----END PUBLIC KEY-----")[static_cast<std::size_t>(PiiKind::api_key)],
            0);
  EXPECT_GE(detect_pii("-----BEGIN PRIVATE KEY-----\n" + body +
                       "-----END PRIVATE KEY-----")[static_cast<std::size_t>(PiiKind::api_key)],
            1);
}

// A certificate cut short before its END line covers its base64 lines only: a key after it is
// still found.
TEST(Pii, AKeyAfterACertificateCutShortIsFound) {
  const std::string text =
      "-----BEGIN CERTIFICATE-----\nMIIB\n\nmy key is sk-proj-Zx8Kq2Lm9Np4Rt7Vw1Yb3Cd5Fg6Hj0Kl";
  EXPECT_EQ(detect_pii(text)[static_cast<std::size_t>(PiiKind::api_key)], 1);
}

// Inputs built to make a scan go back over the text (flags on one long line, BEGIN lines
// without an END, '@' after '@') are read in linear time: each finishes, with its counts.
TEST(Pii, AdversarialRepetitionsAreReadOnce) {
  std::string flags;
  for (int k = 0; k < 200000; ++k) flags += " -p";
  EXPECT_EQ(detect_pii(flags)[static_cast<std::size_t>(PiiKind::api_key)], 0);
  std::string begins;
  for (int k = 0; k < 20000; ++k) begins += "-----BEGIN RSA PRIVATE KEY-----\n";
  EXPECT_GT(detect_pii(begins)[static_cast<std::size_t>(PiiKind::api_key)], 0);
  std::string ats;
  for (int k = 0; k < 200000; ++k) ats += "http://a@";
  detect_pii(ats);
  std::string glued;  // every address's login check looks back over the ones before it
  for (int k = 0; k < 150000; ++k) glued += "x@y.com";
  EXPECT_GT(detect_pii(glued)[static_cast<std::size_t>(PiiKind::email)], 0);
  // Encoded marks: each address's local part is looked for at most 64 bytes back.
  std::string encoded;
  for (int k = 0; k < 200000; ++k) encoded += "a%40";
  EXPECT_EQ(detect_pii(encoded)[static_cast<std::size_t>(PiiKind::email)], 0);
  // Parentheses: a chunk opened by each '(' of a run was read to the run's end again; a phone
  // number closing such a run is still found.
  for (const char* unit : {"(4) ", "(415)", "(+4) "}) {
    std::string parens;
    for (int k = 0; k < 100000; ++k) parens += unit;
    EXPECT_EQ(detect_pii(parens)[static_cast<std::size_t>(PiiKind::phone)], 0) << unit;
    parens += " (415) 555-0134";
    EXPECT_EQ(find_pii(parens).size(), 1u) << unit;
  }
  std::string phone_words;
  for (int k = 0; k < 100000; ++k) phone_words += "call me at my phone 5551234567 ";
  EXPECT_EQ(detect_pii(phone_words)[static_cast<std::size_t>(PiiKind::phone)], 100000);
}

// A run of a million bytes of numbers is read word by word once: each number it holds is found,
// at its place, in linear time (a search from every word to the run's end took 45 s).
TEST(Pii, LongRunsOfNumbersAreReadOnce) {
  std::string text;
  for (int k = 0; k < 100000; ++k) text += "12 345 ";
  const std::size_t card_begin = text.size();
  text += "4111111111111111 ";
  for (int k = 0; k < 100000; ++k) text += "6789 ";
  text += "212-867-5309";
  const auto found = find_pii(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, PiiKind::credit_card);
  EXPECT_EQ(found[0].begin, card_begin);
  EXPECT_EQ(found[1].kind, PiiKind::phone);
  EXPECT_EQ(found[1].end, text.size());
}

}  // namespace
}  // namespace llm_router::analyzer
