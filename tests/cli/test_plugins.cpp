// Plugins and the SDK (docs/plugins.md): the SDK installed into a temporary prefix, the example
// plugin (docs/examples/plugin) built out of tree against it, listed with its origin and
// parameters, run in its example pipeline; and every kind of bad plugin rejected with one line
// naming the file, exit 2.
#include "cli_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using hone::test::quote;
using hone::test::run_command;
using hone::test::run_hone;
using hone::test::slurp;
using hone::test::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = HONE_SOURCE_DIR;
const fs::path kBuild = HONE_BUILD_DIR;

// The SDK installed once per test process, and the example plugin built against it.
struct Sdk {
  fs::path prefix, plugin;
};

const Sdk& sdk() {
  static const Sdk s = [] {
    const fs::path dir = hone::test::scratch_dir("plugins", "sdk");
    Sdk r{dir / "prefix", dir / "plugin-build" / "libhone_prune_random.so"};
    auto install = run_command(fmt::format("cmake --install {} --prefix {}", quote(kBuild), quote(r.prefix)));
    INFO(install.out << install.err);
    REQUIRE(install.exit_code == 0);
    // Out of tree: only the installed prefix is on the search path, not the source or build tree.
    auto configure = run_command(fmt::format("cmake -S {} -B {} -DCMAKE_PREFIX_PATH={} -DCMAKE_BUILD_TYPE=Release",
                                             quote(kSource / "docs/examples/plugin"), quote(dir / "plugin-build"),
                                             quote(r.prefix)));
    INFO(configure.out << configure.err);
    REQUIRE(configure.exit_code == 0);
    auto build = run_command(fmt::format("cmake --build {}", quote(dir / "plugin-build")));
    INFO(build.out << build.err);
    REQUIRE(build.exit_code == 0);
    return r;
  }();
  return s;
}

// A C++ plugin compiled directly against the installed headers; what it does is chosen by
// BEHAVIOUR at compile time.
fs::path compile_plugin(const std::string& name, const std::string& source) {
  const fs::path dir = hone::test::scratch_dir("plugins", name);
  write_text(dir / "p.cpp", source);
  const fs::path lib = dir / ("lib" + name + ".so");
  auto r = run_command(fmt::format("c++ -std=c++20 -shared -fPIC -I {} -I {} {} -o {}", quote(sdk().prefix / "include"),
                                   quote(sdk().prefix / "include/hone"), quote(dir / "p.cpp"), quote(lib)));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return lib;
}

}  // namespace

TEST_CASE("the SDK installs hone, libhone, the headers and a CMake package", "[cli][plugins]") {
  const fs::path p = sdk().prefix;
  for (const char* f : {"bin/hone", "include/hone/plugin.h", "include/hone/passes/pass.h",
                        "include/hone/pipeline/registry.h", "include/hone/ir/graph.h"}) {
    INFO(f);
    CHECK(fs::is_regular_file(p / f));
  }
  bool lib = false, config = false;
  for (const auto& e : fs::recursive_directory_iterator(p)) {
    lib |= e.path().filename() == "libhone.so";
    config |= e.path().filename() == "honeConfig.cmake";
  }
  CHECK(lib);
  CHECK(config);
  // Only the small public surface: no kernel, pass or runtime internals.
  CHECK_FALSE(fs::exists(p / "include/hone/passes/pass_util.h"));
  CHECK_FALSE(fs::exists(p / "include/hone/runtime/cpu"));
  // The installed binary finds the installed libhone.
  auto v = run_command(fmt::format("{} --version", quote(p / "bin/hone")));
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("0.1.0") != std::string::npos);
}

TEST_CASE("the example plugin built out of tree shows in hone list with its origin and parameters",
          "[cli][plugins]") {
  const fs::path hone = sdk().prefix / "bin/hone";
  auto r = run_command(fmt::format("{} list optimizers -v --plugin {}", quote(hone), quote(sdk().plugin)));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("plugin prune_random 1.0.0: Random pruning") != std::string::npos);
  const size_t at = r.out.find("  prune_random ");
  REQUIRE(at != std::string::npos);
  const std::string entry = r.out.substr(at, r.out.find("\n  ", at + 3) - at);
  CHECK(entry.find("[plugin prune_random 1.0.0 (" + fs::canonical(sdk().plugin).string() + ")]") != std::string::npos);
  for (const char* param : {"sparsity", "seed", "min_size", "exclude"}) CHECK(r.out.find(param, at) != std::string::npos);
  // Built-ins keep no origin tag; HONE_PLUGIN_PATH loads the same plugin from its folder.
  CHECK(r.out.find("prune_magnitude   ") != std::string::npos);
  auto env = run_command(fmt::format("HONE_PLUGIN_PATH={} {} list optimizers", quote(sdk().plugin.parent_path()),
                                     quote(hone)));
  CHECK(env.exit_code == 0);
  CHECK(env.out.find("prune_random") != std::string::npos);
  // And the build tree's hone loads a plugin built against the installed SDK (one libhone soname).
  auto tree = run_hone(fmt::format("list --plugin {} optimizers", quote(sdk().plugin)));
  CHECK(tree.exit_code == 0);
  CHECK(tree.out.find("prune_random") != std::string::npos);
}

TEST_CASE("the example plugin's pass runs in its example pipeline", "[cli][plugins]") {
  const fs::path out = hone::test::scratch_dir("plugins", "run");
  const fs::path pipeline = kSource / "docs/examples/plugin/fashion-mnist-prune-random.json";
  auto r = run_command(fmt::format("{} run {} --set plugins.0={} --set measurements.limit=300 --output-dir {} -q",
                                   quote(sdk().prefix / "bin/hone"), quote(pipeline), quote(sdk().plugin), quote(out)));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const json m = json::parse(slurp(out / "host-cpu.measurements.json"));
  const json& pass = m["optimizers"][2];  // implicit cleanup, fold_batch_norm, prune_random
  CHECK(pass["type"] == "prune_random");
  CHECK(pass["detail"]["sparsity"].get<double>() == Approx(0.5).margin(0.001));
  REQUIRE(pass["detail"]["layers"].size() == 5);  // 3 Conv + 2 Gemm
  for (const auto& l : pass["detail"]["layers"]) {
    CHECK(l["sparsity"].get<double>() == Approx(0.5).margin(0.001));
  }
  // Half the weights of every layer are zero: the measured model says so too.
  CHECK(m["size"]["zero_weight_fraction"].get<double>() == Approx(0.5).margin(0.01));
  // Random pruning at 50 % costs accuracy (fmnist_cnn: 92.7 % dense), but the model still runs.
  CHECK(m["quality"]["top1"].get<double>() < 0.85);
  CHECK(m["provenance"]["plugins"][0]["name"] == "prune_random");
  CHECK(m["provenance"]["plugins"][0]["version"] == "1.0.0");
  // The same seed gives the same zeros: a second run reproduces the optimized model byte for byte.
  const fs::path out2 = hone::test::scratch_dir("plugins", "run2");
  auto r2 = run_command(fmt::format("{} run {} --set plugins.0={} --set measurements.limit=10 --output-dir {} -q",
                                    quote(sdk().prefix / "bin/hone"), quote(pipeline), quote(sdk().plugin), quote(out2)));
  REQUIRE(r2.exit_code == 0);
  const json m2 = json::parse(slurp(out2 / "host-cpu.measurements.json"));
  CHECK(m2["provenance"]["optimized_model"]["sha256"] == m["provenance"]["optimized_model"]["sha256"]);
}

TEST_CASE("a plugin registers components of every kind", "[cli][plugins]") {
  const fs::path lib = compile_plugin("kinds", R"(
#include <hone/plugin.h>
#include <hone/datasets/dataset.h>
#include <hone/models/model_wrapper.h>
#include <hone/passes/pass.h>
#include <hone/compilers/compiler.h>
#include <hone/runtime/runtime_component.h>
#include <hone/platforms/platform.h>
using namespace hone;
template <typename T> static pipeline::Registration named(const char* name) {
  pipeline::ComponentSpec spec;
  spec.name = name;
  spec.description = "from the kinds plugin";
  spec.params = {{"level", pipeline::ParamType::Int, 1, false, 0.0, 9.0, {}, "a level"}};
  return pipeline::make_registration<T>(spec, [](const nlohmann::json&, const pipeline::BuildContext&) {
    return std::unique_ptr<T>(); });
}
static void reg(plugin::Registrar& r) {
  r.add(named<models::ModelWrapper>("my_wrapper"));
  r.add(named<datasets::Dataset>("my_dataset"));
  r.add(named<passes::Pass>("my_pass"));
  r.add(named<compilers::Compiler>("my_compiler"));
  r.add(named<runtime::RuntimeComponent>("my_runtime"));
  r.add(named<platforms::Platform>("my_board"));
}
HONE_PLUGIN("kinds", "2.0", "one component of each kind", reg)
)");
  auto r = run_hone(fmt::format("list -v --plugin {}", quote(lib)));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string origin = "[plugin kinds 2.0 (" + fs::canonical(lib).string() + ")]";
  size_t kind_at = 0;
  for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
           {"model_wrapper:", "my_wrapper"}, {"dataset:", "my_dataset"}, {"optimizer:", "my_pass"},
           {"compiler:", "my_compiler"}, {"runtime:", "my_runtime"}, {"platform:", "my_board"}}) {
    INFO(name);
    kind_at = r.out.find("\n" + kind + "\n", kind_at);
    REQUIRE(kind_at != std::string::npos);
    const size_t at = r.out.find("  " + name + " ", kind_at);
    REQUIRE(at != std::string::npos);
    const size_t next_kind = r.out.find(":\n", kind_at + kind.size() + 2);
    CHECK((next_kind == std::string::npos || at < next_kind));  // listed under its own kind
    CHECK(r.out.find(origin, at) == r.out.find('[', at));
    CHECK(r.out.find("level", at) != std::string::npos);
  }
}

TEST_CASE("bad plugins: one line naming the file, exit 2, nothing registered", "[cli][plugins]") {
  const fs::path dir = hone::test::scratch_dir("plugins", "bad");
  auto expect_bad = [](const hone::test::CommandResult& r, const fs::path& file, const std::string& why) {
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find(file.string()) != std::string::npos);
    CHECK(r.err.find(why) != std::string::npos);
    CHECK(r.out.empty());
  };
  SECTION("missing file") {
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(dir / "nope.so"))), dir / "nope.so", "no such plugin file");
  }
  SECTION("not a library") {
    write_text(dir / "text.so", "not an ELF file\n");
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(dir / "text.so"))), dir / "text.so", "cannot load plugin");
  }
  SECTION("a library without the entry point") {
    write_text(dir / "plain.c", "int answer(void) { return 42; }\n");
    REQUIRE(run_command(fmt::format("cc -shared -fPIC {} -o {}", quote(dir / "plain.c"), quote(dir / "libplain.so"))).exit_code == 0);
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(dir / "libplain.so"))), dir / "libplain.so",
               "not a hone plugin: it exports no 'hone_plugin_entry'");
  }
  SECTION("another plugin API version") {
    write_text(dir / "v99.c",
               "#include <stdint.h>\n#include <stddef.h>\n"
               "struct info { uint32_t api; const char* name; const char* version; const char* description; void* reg; };\n"
               "const struct info* hone_plugin_entry(void) {\n"
               "  static const struct info i = {99, \"future\", \"1\", \"from the future\", 0};\n  return &i;\n}\n");
    REQUIRE(run_command(fmt::format("cc -shared -fPIC {} -o {}", quote(dir / "v99.c"), quote(dir / "libv99.so"))).exit_code == 0);
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(dir / "libv99.so"))), dir / "libv99.so",
               "built for plugin API version 99, this hone supports version 1");
  }
  SECTION("a component name that clashes with a built-in") {
    const fs::path lib = compile_plugin("clash", R"(
#include <hone/plugin.h>
#include <hone/passes/pass.h>
static void reg(hone::plugin::Registrar& r) {
  hone::pipeline::ComponentSpec spec;
  spec.name = "fine_new_pass";
  r.add(hone::pipeline::make_registration<hone::passes::Pass>(spec, [](const nlohmann::json&, const hone::pipeline::BuildContext&) {
    return std::unique_ptr<hone::passes::Pass>(); }));
  spec.name = "prune_magnitude";
  r.add(hone::pipeline::make_registration<hone::passes::Pass>(spec, [](const nlohmann::json&, const hone::pipeline::BuildContext&) {
    return std::unique_ptr<hone::passes::Pass>(); }));
}
HONE_PLUGIN("clash", "0.1", "registers a taken name", reg)
)");
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(lib))), lib,
               "plugin 'clash': optimizer 'prune_magnitude' is already registered (built-in)");
  }
  SECTION("a register function that throws") {
    const fs::path lib = compile_plugin("throws", R"(
#include <hone/plugin.h>
#include <stdexcept>
static void reg(hone::plugin::Registrar&) { throw std::runtime_error("no licence file found"); }
HONE_PLUGIN("throws", "0.1", "fails to register", reg)
)");
    expect_bad(run_hone(fmt::format("list --plugin {}", quote(lib))), lib,
               "plugin 'throws' failed to register its components: no licence file found");
  }
  SECTION("the same plugin name from two files") {
    fs::copy_file(sdk().plugin, dir / "libcopy.so");
    expect_bad(run_hone(fmt::format("list --plugin {} --plugin {}", quote(sdk().plugin), quote(dir / "libcopy.so"))),
               dir / "libcopy.so", "a plugin named 'prune_random' is already loaded from");
  }
  SECTION("a pipeline's plugin is named by its JSON path") {
    const fs::path p = dir / "p.json";
    write_text(p, R"({"plugins": ["missing/libx.so"], "model_wrapper": {"type": "onnx_classifier"}, "dataset": {"type": "random"}})");
    const auto r = run_hone(fmt::format("validate {}", quote(p)));
    expect_bad(r, p, "/plugins/0: ");
    CHECK(r.err.find((dir / "missing/libx.so").string() + ": no such plugin file") != std::string::npos);
  }
  SECTION("HONE_PLUGIN_PATH naming a missing folder") {
    const auto r = run_command(fmt::format("HONE_PLUGIN_PATH={} '{}' list", quote(dir / "none"), HONE_BINARY));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("HONE_PLUGIN_PATH: '" + (dir / "none").string() + "' is not a folder") != std::string::npos);
  }
}
