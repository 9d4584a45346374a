import CanonicalJSON
import ChangeCapture
import DatabaseCatalog

/// How the server's rows of one table (every column, as pgoutput sends them) become the
/// profile's rows (its columns, in its order): checked once per Relation message, so that a
/// column the profile needs that the table lost is a changed definition, never a null.
struct TableProjection {
    let plan: TablePlan
    let relation: PgOutputMessage.Relation
    let table: ChangeTable
    /// For each of the profile's columns, its position in the server's row.
    private let sourceIndexes: [Int]

    init(plan: TablePlan, relation: PgOutputMessage.Relation) throws(FollowError) {
        self.plan = plan
        self.relation = relation
        var indexes: [Int] = []
        for column in plan.columns {
            guard let index = relation.columns.firstIndex(where: { $0.name.isByteEqual(to: column.name) }) else {
                throw .definitionChanged(table: plan.qualifiedName, detail: "column \(column.name.debugDescription) is no longer sent")
            }
            indexes.append(index)
        }
        sourceIndexes = indexes
        let full = relation.replicaIdentity == UInt8(ascii: "f")
        if !full {
            for key in plan.keyColumns {
                guard let index = relation.columns.firstIndex(where: { $0.name.isByteEqual(to: key) }), relation.columns[index].isKey else {
                    throw .definitionChanged(table: plan.qualifiedName, detail: "the profile's key column \(key.debugDescription) is not part of the table's replica identity, so a delete would not say which row: make the profile's key the primary key, or ALTER TABLE … REPLICA IDENTITY FULL")
                }
            }
            if plan.filter != nil { throw .filterNeedsFullIdentity(table: plan.qualifiedName) }
        }
        table = ChangeTable(name: plan.qualifiedName, columns: plan.columnSpecs, keyColumns: plan.keyColumnIndexes)
    }

    /// The profile's columns of a row the server sent, or nil when it has another width.
    func project(_ values: [PgOutputMessage.TupleValue]) -> [PgOutputMessage.TupleValue]? {
        guard values.count == relation.columns.count else { return nil }
        return sourceIndexes.map { values[$0] }
    }

    /// Whether a later Relation message describes the same columns (names, types, key flags).
    func sameDefinition(as other: PgOutputMessage.Relation) -> Bool {
        other.replicaIdentity == relation.replicaIdentity && other.columns == relation.columns
    }
}
