// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Trellis",
  products: [
    .library(name: "Trellis", targets: ["Trellis"]),
    .library(name: "ConllEval", targets: ["ConllEval"]),
    .executable(name: "trellis", targets: ["trellis"]),
    /// libTrellisC.so: the C ABI of Sources/TrellisC/include/trellis.h (the Python package's).
    .library(name: "TrellisC", type: .dynamic, targets: ["TrellisC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // `make docs` only: a command plugin, built when `swift package generate-documentation`
    // runs and never by `swift build`.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // MARK: - Public API
    /// The tagger: embeddings, recurrent encoders, structured heads, training, model files.
    .target(name: "Trellis", dependencies: ["COpenBLAS", "ConllEval"], plugins: ["BuildInfo"]),
    /// conlleval-compatible chunk scoring and tag-scheme handling; pure Swift, no BLAS.
    .target(name: "ConllEval"),
    /// The `trellis` command-line tool.
    .executableTarget(
      name: "trellis",
      dependencies: ["Trellis", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),

    /// The C functions of libTrellisC.so; the header is hand-written, hence excluded.
    .target(name: "TrellisC", dependencies: ["Trellis"], exclude: ["include"]),

    // MARK: - Implementation details
    /// Debian's OpenBLAS (cblas) and LAPACKE, found through pkg-config.
    .systemLibrary(
      name: "COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
    ),

    /// Records the git commit a build comes from (model provenance).
    .plugin(name: "BuildInfo", capability: .buildTool()),

    // MARK: - Tests
    .testTarget(name: "ConllEvalTests", dependencies: ["ConllEval"], resources: [.copy("Golden")]),
    .testTarget(name: "TrellisTests", dependencies: ["Trellis"]),
    .testTarget(name: "CLITests", dependencies: ["Trellis"]),
  ],
  // The numeric kernels share raw buffers across the two direction threads by design (disjoint
  // slices); Swift 5 mode keeps strict-concurrency diagnostics from forcing copies there.
  swiftLanguageModes: [.v5]
)
