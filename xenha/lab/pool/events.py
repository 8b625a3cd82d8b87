"""What event.from needs from the database: a generation per change, as xapi's
database keeps one (ocaml/xapi/xapi_event.ml: ``collect_events`` reads each row's
created, modified and deleted generations since the caller's token).

The simulator's handlers change records in place, so changes are found by comparing
each record with what the last scan saw: after every write call, and whenever an
event.from looks. Two changes that cancel out between two scans (a background task's
steps, say) show as none, where xapi would report a ``mod``: a client that sees fewer
events must still re-read, which is what xapi's own documentation asks of it.
"""


class Log:
    def __init__(self):
        self.generation = 0
        self.rows = {}  # (class, ref) -> [what the record looked like, created, modified]
        self.deleted = {}  # (class, ref) -> (created, deleted)

    def scan(self, tables):
        """Give a new generation to every record created, changed or deleted since."""
        seen = set()
        for cls, table in tables.items():
            for ref, rec in table.items():
                key = (cls, ref)
                seen.add(key)
                looks = repr(rec)
                row = self.rows.get(key)
                if row is None:
                    self.generation += 1
                    self.rows[key] = [looks, self.generation, self.generation]
                elif row[0] != looks:
                    self.generation += 1
                    row[0], row[2] = looks, self.generation
        for key in sorted(set(self.rows) - seen):
            self.generation += 1
            self.deleted[key] = (self.rows.pop(key)[1], self.generation)

    def touch(self, cls, ref):
        """A ``mod`` of ``cls/ref`` with nothing changed (event.inject); returns its
        generation."""
        self.generation += 1
        self.rows[(cls, ref)][2] = self.generation
        return self.generation

    def since(self, generation, wanted):
        """``(adds, mods, dels, last)``: ``[(generation, class, ref)]`` after
        ``generation`` of the classes ``wanted(class, ref)`` selects, and the newest
        generation among them (``generation`` when none)."""
        adds, mods, dels, last = [], [], [], generation
        for (cls, ref), (_, created, modified) in self.rows.items():
            if modified > generation and wanted(cls, ref):
                last = max(last, modified)
                (adds if created > generation else mods).append((modified, cls, ref))
        for (cls, ref), (created, deleted) in self.deleted.items():
            # an object created and deleted since: no event at all (collect_events)
            if deleted > generation and created <= generation and wanted(cls, ref):
                last = max(last, deleted)
                dels.append((deleted, cls, ref))
        return sorted(adds), sorted(mods), sorted(dels), last
