/**
 * A plan's nodes are read by ranges of clusters: one index, the primary key, serves that and
 * uniqueness. Storing a million nodes keeps one index up to date instead of two.
 */
export const up = [
  `alter table merge_plan_nodes drop constraint merge_plan_nodes_pkey`,
  `drop index merge_plan_nodes_by_cluster`,
  `alter table merge_plan_nodes add primary key (merge_run_id, cluster, node)`,
];

export const down = [
  `alter table merge_plan_nodes drop constraint merge_plan_nodes_pkey`,
  `alter table merge_plan_nodes add primary key (merge_run_id, node)`,
  `create index merge_plan_nodes_by_cluster on merge_plan_nodes (merge_run_id, cluster)`,
];
