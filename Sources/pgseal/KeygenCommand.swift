import ArchiveFormat
import ArgumentParser
import Cryptography
import Foundation

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an age key pair for encryption and an Ed25519 key pair for signing seals.",
        discussion: """
            Writes, and never overwrites:
              age-identity.txt   the age identity (secret, 0600): keep it off the export host
              age-recipient.txt  its recipient (age1…): give it to the export with --recipients-file
              signing-key        the Ed25519 signing key (secret, 0600): the export host signs with it
              signing-key.pub    its public key
              allowed_signers    for auditors: ssh-keygen -Y verify -f allowed_signers -I <signer> -n pgseal

            With --verifier, the keys are a verifier's: the signing key signs attestations (verify \
            --attest-key) and allowed_signers names namespace pgseal-attestation, for check and \
            report --trusted-verifier.

            Example:
              pgseal keygen --out /etc/pgseal/keys --signer nightly-export
              pgseal keygen --out ~/drill-keys --signer drill@audit --verifier
            """)

    @Option(name: .long, help: ArgumentHelp("Directory to write the keys into (created if missing).", valueName: "dir"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("The signer's name in allowed_signers (default pgseal).", valueName: "name"))
    var signer = "pgseal"

    @Flag(name: .long, help: "Make a verifier's keys: allowed_signers names namespace pgseal-attestation instead of pgseal.")
    var verifier = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = global.bootstrapLogging()
        let namespace = verifier ? Attestation.signatureNamespace : SealDocument.signatureNamespace
        let keys = try KeyFiles.generate(into: out, signer: signer, namespace: namespace)
        print("""
            age identity    \(keys.identity)  (secret: store it offline, not on the export host)
            age recipient   \(keys.recipient)  \(keys.recipientText)
            signing key     \(keys.signingKey)  (secret: the export host signs seals with it)
            signing pubkey  \(keys.signingPublicKey)  \(keys.fingerprint)
            allowed_signers \(keys.allowedSigners)  (signer \(signer), namespace \(namespace))
            """)
    }
}
