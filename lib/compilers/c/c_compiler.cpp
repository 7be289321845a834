// `c`: the optimized model as standalone C99 (compilers/c/emit.h), built with the target
// platform's toolchain into an executable that streams samples through stdin / stdout (the
// `executable` runtime runs it). Output per target, in <target>/c/: model.h, model.c, main.c,
// build.sh (the exact command), the binary `model`, its map file and the size report.
#include "compilers/c/emit.h"
#include "compilers/compiler.h"
#include "compilers/compilers.h"
#include "platforms/platform.h"
#include "support/error.h"
#include "support/process.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace hone::compilers {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string shell_quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$`\\;&|<>()*?") == std::string::npos && !s.empty()) return s;
  std::string r = "'";
  for (char ch : s) r += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return r + "'";
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw internal_error("cannot write {}", p.string());
}

// Berkeley `size` output: "text data bss dec hex filename" and one row.
json size_report(const std::string& out) {
  std::istringstream s(out);
  std::string header;
  std::getline(s, header);
  int64_t text = 0, data = 0, bss = 0;
  if (!(s >> text >> data >> bss)) throw internal_error("cannot read size's output: {}", out);
  return {{"text", text}, {"data", data}, {"bss", bss}};
}

class CCompiler final : public Compiler {
 public:
  std::string name() const override { return "c"; }

  Artifact compile(const ir::Model& model, const platforms::Platform& platform, const fs::path& out_dir) override {
    const platforms::PlatformInfo* info = platform.info();
    if (info && info->os == platforms::OperatingSystem::None) {
      throw unsupported("the c compiler does not build for bare-metal platforms ('{}') yet", platform.name());
    }
    Artifact a;
    a.model = model;
    a.model.graph = c::prepare_graph(model.graph);
    const c::CSource src = c::emit_c(a.model.graph);
    const fs::path dir = out_dir / "c";
    fs::create_directories(dir);
    write_text(dir / "model.h", src.header);
    write_text(dir / "model.c", src.source);
    write_text(dir / "main.c", c::emit_harness(src));

    const std::string cc = info ? info->toolchain.cc : "cc";
    const std::vector<std::string> cflags = info ? info->toolchain.cflags : std::vector<std::string>{"-O2"};
    const std::vector<std::string> ldflags = info ? info->toolchain.ldflags : std::vector<std::string>{};
    const std::vector<std::string> libs = info ? info->toolchain.libs : std::vector<std::string>{"-lm"};
    std::vector<std::string> argv = {cc, "-std=c99", "-Wall", "-Wextra", "-Werror"};
    argv.insert(argv.end(), cflags.begin(), cflags.end());
    argv.insert(argv.end(), {"main.c", "model.c"});
    argv.insert(argv.end(), ldflags.begin(), ldflags.end());
    argv.insert(argv.end(), {"-Wl,-Map=model.map", "-o", "model"});
    argv.insert(argv.end(), libs.begin(), libs.end());
    std::string script = "#!/bin/sh\n# The command hone ran to build this target's model.\nset -e\ncd \"$(dirname \"$0\")\"\n";
    for (size_t i = 0; i < argv.size(); ++i) script += (i ? " " : "") + shell_quote(argv[i]);
    write_text(dir / "build.sh", script + "\n");
    fs::permissions(dir / "build.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);

    const support::ProcessResult built = support::run_process(argv, dir);
    write_text(dir / "build.log", built.out + built.err);
    if (built.exit_code != 0) {
      throw internal_error("the generated C did not build with {} (exit {}; {}): {}", cc, built.exit_code,
                           (dir / "build.log").string(), support::tail_lines(built.err, 6));
    }
    const std::string size_tool = info ? info->toolchain.size : "size";
    const support::ProcessResult sized = support::run_process({size_tool, "model"}, dir);
    if (sized.exit_code != 0) throw internal_error("{} failed: {}", size_tool, support::tail_lines(sized.err, 4));
    json size = size_report(sized.out);
    write_text(dir / "size.txt", sized.out);
    const int64_t text = size["text"], data = size["data"], bss = size["bss"];

    json ports = json::object();
    for (const auto& [key, list] : {std::pair{"inputs", &src.inputs}, std::pair{"outputs", &src.outputs}}) {
      ports[key] = json::array();
      for (const auto& p : *list) {
        ports[key].push_back({{"name", p.name}, {"dtype", std::string(ir::dtype_name(p.dtype))}, {"shape", p.shape},
                              {"bytes", p.bytes}});
      }
    }
    a.file = dir / "model";
    a.detail = {{"format", "c"},
                {"directory", "c"},
                {"executable", "c/model"},
                {"files", {"c/model.h", "c/model.c", "c/main.c", "c/build.sh", "c/model.map", "c/size.txt"}},
                {"nodes", src.nodes.size()},
                {"arena_bytes", src.arena_bytes},
                {"weight_bytes", src.weight_bytes},
                {"toolchain", {{"cc", cc}, {"cflags", cflags}, {"ldflags", ldflags}, {"libs", libs}}},
                {"size", size},
                // flash: code, constants and initialized data; RAM: initialized data and bss (the
                // harness's static arena is in bss).
                {"flash_bytes", text + data},
                {"ram_bytes", data + bss},
                {"inputs", ports["inputs"]},
                {"outputs", ports["outputs"]}};
    return a;
  }
};

}  // namespace

pipeline::Registration c_compiler_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "c";
  spec.description =
      "Standalone C99 (one function per node, one planned arena, const weights, exact int8 requantization), built "
      "with the platform's toolchain into a program the executable runtime runs";
  return pipeline::make_registration<Compiler>(std::move(spec), [](const json&, const pipeline::BuildContext&) {
    return std::make_unique<CCompiler>();
  });
}

}  // namespace hone::compilers
