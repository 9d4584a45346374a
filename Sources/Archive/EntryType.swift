/// `AE_IFREG`: libarchive's header spells it as a cast, which Swift does not import.
let regularFileType: UInt32 = 0o100000
