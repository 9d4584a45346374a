import ArgumentParser

/// `--scratch-db`: the server where scratch databases are made and dropped (verify --level
/// restore, diff --replay, lost), spelled the same by every command.
struct ScratchOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A database URL on the server where scratch databases are made, for a role that may CREATE DATABASE (PGSEAL_SCRATCH_DB).", valueName: "url"))
    var scratchDb: String?

    /// The flag, or PGSEAL_SCRATCH_DB; nil when neither is given.
    func url(_ context: CommandContext) -> String? {
        (scratchDb ?? context.variable("PGSEAL_SCRATCH_DB")).flatMap { $0.isEmpty ? nil : $0 }
    }
}
