#pragma once

#include <memory>

#include "llm_router/config/config.hpp"
#include "llm_router/upstream/exchange.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace llm_router::upstream {

// TLS settings shared by every HTTPS backend: system trust store, peer verification on.
std::shared_ptr<asio::ssl::context> make_tls_context();

// One provider per backend per io thread (its connection pool is that thread's alone).
std::unique_ptr<Provider> make_provider(const config::Backend& backend, asio::io_context& io,
                                        std::shared_ptr<asio::ssl::context> tls);

}  // namespace llm_router::upstream
