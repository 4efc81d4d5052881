import { indexOnlyMigration, type IndexDef } from "../scripts/migrate/indexes.ts";

export const id = "007_customer_search_compound_indexes";
export const description =
  "customers_v2 compound indexes for back-office searches that combine a phone/name prefix with area or status " +
  "(equality first, then the prefix range and the page order), and area+status listings with and without a prefix";

/**
 * With only 006's single-field indexes, a prefix search narrowed by `area` or `status` was
 * answered from the area/status index and sorted in memory: every customer of the area (or,
 * for status=active, ~70% of all customers) was read for one page (measured at 100k customers
 * by test/node/query-plans/customer-search.test.ts). These serve equality, prefix range and
 * the (search key, id) page order from one index. No uniqueness: nothing legacy can violate them.
 */
export const INDEXES: IndexDef[] = [
  { collection: "customers_v2", name: "area_1_phone_search_1_id_1", key: { area: 1, phone_search: 1, id: 1 } },
  { collection: "customers_v2", name: "area_1_name_search_1_id_1", key: { area: 1, name_search: 1, id: 1 } },
  { collection: "customers_v2", name: "status_1_phone_search_1_id_1", key: { status: 1, phone_search: 1, id: 1 } },
  { collection: "customers_v2", name: "status_1_name_search_1_id_1", key: { status: 1, name_search: 1, id: 1 } },
  // Both area and status: without these, area_1_status_1_id_1 (two equalities) would win over
  // the prefix indexes above and sort the whole area+status in memory.
  { collection: "customers_v2", name: "area_1_status_1_id_1", key: { area: 1, status: 1, id: 1 } },
  { collection: "customers_v2", name: "area_1_status_1_phone_search_1_id_1", key: { area: 1, status: 1, phone_search: 1, id: 1 } },
  { collection: "customers_v2", name: "area_1_status_1_name_search_1_id_1", key: { area: 1, status: 1, name_search: 1, id: 1 } },
];

// Down drops the indexes up created (006's indexes keep serving every search, only slower).
export const { up, down } = indexOnlyMigration(INDEXES);
