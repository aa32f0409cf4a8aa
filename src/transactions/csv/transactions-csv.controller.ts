import { Controller, Get, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CsvUpload } from '../../common/decorators/csv-upload.decorator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiValidationResponse } from '../../common/decorators/api-problems.decorator';
import { CurrentUser } from '../../common/decorators/current-user.decorator';
import { Auth } from '../../common/decorators/roles.decorator';
import { ProblemResponse } from '../../common/problem.response';
import type { User } from '../../users/entities/user.entity';
import { ImportJobResponse, ImportQueryDto, ImportResultResponse } from '../dto/import-query.dto';
import { ImportJobsService, importPath } from './import-jobs.service';
import { TransactionFiltersDto } from '../dto/list-transactions.dto';
import { TransactionsCsvService } from './transactions-csv.service';

@ApiTags('transactions')
@Controller('transactions')
export class TransactionsCsvController {
  constructor(
    private readonly csv: TransactionsCsvService,
    private readonly jobs: ImportJobsService,
  ) {}

  /**
   * Download the transactions matching the list filters as CSV (RFC 4180), streamed. Columns:
   * id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt. Cells starting with
   * = + - @ tab, CR or ' are prefixed with ' so spreadsheets do not run them as formulas; the
   * import removes that prefix again, so an export imports back to the same values.
   */
  @Get('export')
  @Auth('GET /transactions/export')
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'CSV file (attachment)', schema: { type: 'string' } })
  @ApiValidationResponse('Invalid filter, from > to or minAmount > maxAmount')
  async export(
    @CurrentUser() actor: User,
    @Query() filters: TransactionFiltersDto,
    @Res() res: FastifyReply,
  ): Promise<void> {
    // Streamed to the Node response directly; the headers set so far (rate limits) go along.
    res.hijack();
    for (const [name, value] of Object.entries(res.getHeaders()))
      if (value !== undefined) res.raw.setHeader(name, value);
    await this.csv.export(actor, filters, res.raw);
  }

  /**
   * Import transactions from CSV with header date,type,amount,category[,notes] (any order and
   * case), as `text/csv` or the `file` field of `multipart/form-data`. Every row is validated
   * like POST /transactions. Default all-or-nothing: any bad row gives 422 and writes nothing.
   * The whole upload is received and checked before anything is written.
   */
  @Post('import')
  @CsvUpload()
  @Auth('POST /transactions/import')
  @ApiCreatedResponse({
    type: ImportResultResponse,
    description: 'Imported (in partial mode, bad rows are listed)',
  })
  @ApiOkResponse({
    type: ImportResultResponse,
    description: 'Dry run: what the import would do; nothing written',
  })
  @ApiAcceptedResponse({
    type: ImportJobResponse,
    description: '`async=true`: queued; `Location` is the import resource to poll',
  })
  @ApiValidationResponse('Invalid query parameters')
  @ApiServiceUnavailableResponse({
    type: ProblemResponse,
    description:
      'IMPORT_CONCURRENCY imports are already writing on this server; retry after `Retry-After` seconds',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and same file within 24 h replays the first result without importing again (ignored on dry runs)',
  })
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description:
      'Bad header, no data rows, not UTF-8 text, bad rows (errors: [{row, field, message}]) or inactive ownerId',
  })
  async import(
    @CurrentUser() actor: User,
    @Query() q: ImportQueryDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ImportResultResponse | ImportJobResponse> {
    if (q.async === true) {
      const job = await this.jobs.enqueue(actor, q, req.raw);
      res.status(HttpStatus.ACCEPTED).header('Location', importPath(job.id));
      return job;
    }
    const { dryRun, replayed, ...result } = await this.csv.import(actor, q, req.raw, res.raw);
    res.status(dryRun ? HttpStatus.OK : HttpStatus.CREATED);
    if (replayed) res.header('Idempotent-Replayed', 'true');
    return result;
  }
}
