import Postgres

/// What following a profile's tables through logical replication needs of the server, the role
/// and each table — checked before a slot is made, each problem naming the setting and what to
/// run, as pgBackRest names what to fix. pgseal never makes a publication with a row filter:
/// PostgreSQL 15 then refuses the application's UPDATEs of a table whose filter column is not in
/// its replica identity; a profile's filters are applied by pgseal to the changes it reads.
package enum ReplicationReadiness {
    package struct Problem: Equatable, CustomStringConvertible {
        /// The setting, privilege or table at fault, for reports.
        package let subject: String
        package let message: String
        package var description: String { message }
    }

    /// Every problem found, none when following can start.
    package static func problems(_ connection: PostgresConnection, tables: [TableSelection]) throws(PostgresError) -> [Problem] {
        var found: [Problem] = []
        let walLevel = try connection.execute("SELECT current_setting('wal_level')").scalar ?? ""
        if walLevel != "logical" {
            found.append(Problem(subject: "wal_level", message: "wal_level is \(walLevel), and following changes needs logical: run ALTER SYSTEM SET wal_level = logical and restart the server (Amazon RDS and Aurora: set rds.logical_replication = 1 in the parameter group and reboot)"))
        }
        let role = try connection.execute("""
            SELECT current_user, r.rolsuper OR r.rolreplication
                   OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication') AND pg_has_role(current_user, 'rds_replication', 'member'))
            FROM pg_roles r WHERE r.rolname = current_user
            """)
        if let row = role.rows.first, row.count == 2, row[1] != "t" {
            let name = SQL.identifier(row[0] ?? "")
            found.append(Problem(subject: "REPLICATION", message: "role \(row[0] ?? "") may not open a replication connection: run ALTER ROLE \(name) REPLICATION (Amazon RDS: GRANT rds_replication TO \(name))"))
        }
        let capacity = try connection.execute("""
            SELECT (SELECT count(*) FROM pg_replication_slots), current_setting('max_replication_slots')::int,
                   (SELECT count(*) FROM pg_stat_replication), current_setting('max_wal_senders')::int
            """)
        if let row = capacity.rows.first, row.count == 4, let slots = Int(row[0] ?? ""), let maxSlots = Int(row[1] ?? ""),
           let senders = Int(row[2] ?? ""), let maxSenders = Int(row[3] ?? "") {
            if slots >= maxSlots {
                found.append(Problem(subject: "max_replication_slots", message: "all \(maxSlots) replication slots are in use: drop one no longer needed (SELECT slot_name, active, wal_status FROM pg_replication_slots; SELECT pg_drop_replication_slot('name')) or raise max_replication_slots and restart the server"))
            }
            if senders >= maxSenders {
                found.append(Problem(subject: "max_wal_senders", message: "all \(maxSenders) WAL senders are busy: raise max_wal_senders and restart the server"))
            }
        }
        for selection in tables {
            let table = selection.qualifiedName
            // Schema and name are bound as parameters and compared with the catalog: never SQL.
            let identity = try connection.execute("""
                SELECT c.relreplident::text, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
                       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
                """, [selection.schemaName, selection.tableName])
            guard let row = identity.rows.first, row.count == 3 else {
                found.append(Problem(subject: table, message: "table \(table) does not exist"))
                continue
            }
            let usable: Bool
            switch row[0] {
            case "d": usable = row[1] == "t"
            case "i": usable = row[2] == "t"
            case "f": usable = true
            default: usable = false
            }
            if !usable {
                found.append(Problem(subject: table, message: "table \(table) has no key its changes can be matched by: add a primary key, or run ALTER TABLE \(SQL.table(schema: selection.schemaName, name: selection.tableName)) REPLICA IDENTITY USING INDEX <a unique index on NOT NULL columns> (REPLICA IDENTITY FULL also works, at the cost of logging whole old rows)"))
            }
        }
        return found
    }
}
