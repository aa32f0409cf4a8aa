// The DataSource the TypeORM CLI uses (`npm run migration:generate|run`); the app builds its own
// from the same options in src/database.
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set for the TypeORM CLI (for example postgres://postgres@127.0.0.1:5432/finance)');

export default new DataSource(dataSourceOptions({ url }));
