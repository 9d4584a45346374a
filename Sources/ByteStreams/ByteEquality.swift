extension String {
    /// Equal byte for byte. Swift's `==` compares by canonical equivalence, so that a column
    /// named `é` (U+00E9) equals one named `e` + U+0301: two columns to PostgreSQL, one to `==`.
    /// Names from catalogs and archives are matched with this, never with `==`.
    package func isByteEqual(to other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}
