// The Store implementations that the store conformance suite and the service tests run
// against, each as a named factory. A test suite written over `StoreKind` runs once per
// registered store through PARLEY_INSTANTIATE_FOR_EVERY_STORE(Suite); the next store
// (PostgreSQL, say) joins every such suite by adding one line to that macro and one
// factory below.
//
// Test names read `<store>/<Suite>.<Test>/0`: `--gtest_filter='RocksStore/*'` runs one
// store.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace parley::test {

// Opens the store whose data lives at `dir` (created empty by the caller, kept across
// reopenings): opening the same `dir` again must find what was written before.
using StoreFactory = std::function<Result<std::unique_ptr<Store>>(const std::string& dir)>;

struct StoreKind {
  std::string name;  // as in test names: "RocksStore"
  StoreFactory open;
};
// Lets gtest print a parameter by its name.
void PrintTo(const StoreKind& kind, std::ostream* os);

// RocksStore with small caches, so tests do not reserve hundreds of megabytes each.
const StoreKind& RocksStoreKind();

// PgStore on the test process's shared PostgreSQL (pg_server.h), one schema per `dir`, so
// reopening the same `dir` finds the same data.
const StoreKind& PgStoreKind();

// The store that suites which run on one store only (CoreTest without parameters) use.
inline const StoreKind& DefaultStoreKind() { return RocksStoreKind(); }

}  // namespace parley::test

// Instantiates the value-parameterised suite `suite` (its parameter: a StoreKind) once per
// registered store. One line per store.
#define PARLEY_INSTANTIATE_FOR_EVERY_STORE(suite)                                \
  INSTANTIATE_TEST_SUITE_P(RocksStore, suite,                                    \
                           ::testing::Values(::parley::test::RocksStoreKind())); \
  INSTANTIATE_TEST_SUITE_P(PgStore, suite, ::testing::Values(::parley::test::PgStoreKind()))
