import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The custom search attributes ferry upserts at every transition (all Keyword). */
export const FerryInstance = defineSearchAttributeKey('FerryInstance', SearchAttributeType.KEYWORD);
export const FerryOperation = defineSearchAttributeKey(
  'FerryOperation',
  SearchAttributeType.KEYWORD,
);
export const FerryStatus = defineSearchAttributeKey('FerryStatus', SearchAttributeType.KEYWORD);
export const FerrySourceHost = defineSearchAttributeKey(
  'FerrySourceHost',
  SearchAttributeType.KEYWORD,
);
export const FerryDestHost = defineSearchAttributeKey('FerryDestHost', SearchAttributeType.KEYWORD);

export const FERRY_SEARCH_ATTRIBUTES = [
  FerryInstance,
  FerryOperation,
  FerryStatus,
  FerrySourceHost,
  FerryDestHost,
];
