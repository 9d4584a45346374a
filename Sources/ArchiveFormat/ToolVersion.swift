/// pgseal's version, in one place: `pgseal --version`, `--help`, every manifest's and seal's
/// `tool`, and reports print it. CHANGELOG.md's newest entry names the same version (a test
/// checks), and a release is tagged `v` + this.
package enum PGSealVersion {
    package static let current = "0.7.2"
}
